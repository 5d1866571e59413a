// RunCommand: a test runs an independent tool (openssl, certtool) through sh
// and inspects what it printed. Thread-compatible.
#pragma once

#include <string>

namespace rotor::testing {

struct CommandResult {
  int exit_code = -1;  // -1: it could not start or did not exit normally
  std::string output;  // stdout and stderr
};

// RunCommand runs `command` through sh with stderr folded into stdout. Tests
// start their commands with `timeout`, so none can hang the suite.
CommandResult RunCommand(const std::string& command);

}  // namespace rotor::testing
