// FakeCommandRunner: a CommandRunner (engine/ports/credentials.h) that runs
// nothing. It records each call and answers from a queue of scripted results
// (OK once the queue is empty). Thread-compatible.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/ports/credentials.h"

namespace rotor::testing {

class FakeCommandRunner final : public CommandRunner {
 public:
  struct Call {
    std::string command;
    std::map<std::string, std::string> env;
    Duration timeout;
  };

  // CommandRunner:
  Status Run(const std::string& command, const std::map<std::string, std::string>& env, Duration timeout) override;

  // Test controls.
  void FailNext(Status error, int times = 1);
  const std::vector<Call>& calls() const { return calls_; }

 private:
  std::deque<Status> scripted_;
  std::vector<Call> calls_;
};

}  // namespace rotor::testing
