#include "cc/shout.h"

#include <cctype>

#include "cc/greet.h"

std::string Shout(const std::string& who) {
  std::string s = Greet(who);
  for (char& c : s) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return s;
}
