#include "cc/greet.h"

std::string Greet(const std::string& who) { return "hello, " + who; }
