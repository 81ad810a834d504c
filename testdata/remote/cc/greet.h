#ifndef KILN_E2E_CC_GREET_H_
#define KILN_E2E_CC_GREET_H_

#include <string>

std::string Greet(const std::string& who);

#endif  // KILN_E2E_CC_GREET_H_
