#ifndef KILN_E2E_CC_SHOUT_H_
#define KILN_E2E_CC_SHOUT_H_

#include <string>

// Shout greets who in capitals.
std::string Shout(const std::string& who);

#endif  // KILN_E2E_CC_SHOUT_H_
