#include <iostream>

#include "cc/greet.h"
#include "cc/shout.h"

int main() {
  std::cout << Greet("kiln") << "\n" << Shout("kiln") << "\n";
  return 0;
}
