#include "tests/support/fake_command_runner.h"

namespace rotor::testing {

Status FakeCommandRunner::Run(const std::string& command, const std::map<std::string, std::string>& env,
                              Duration timeout) {
  calls_.push_back(Call{command, env, timeout});
  if (scripted_.empty()) return Status::Ok();
  Status s = scripted_.front();
  scripted_.pop_front();
  return s;
}

void FakeCommandRunner::FailNext(Status error, int times) {
  for (int i = 0; i < times; ++i) scripted_.push_back(error);
}

}  // namespace rotor::testing
