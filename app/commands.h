// The CLI's commands other than `run`: status, rotate, revoke, audit verify
// (ARCHITECTURE §7). Each returns the process exit code (app/daemon.h) and
// prints its result on stdout, its errors on stderr.
//
// Commands that act on identities go to a running daemon over its control
// socket; with no daemon they are queued in the store and executed at the
// next start. Read-only commands read the store directly, beside a running
// daemon if there is one (LMDB readers never block its writer).
#pragma once

#include <string>
#include <vector>

namespace rotor::app {

struct StatusOptions {
  std::string data_dir;
  std::vector<std::string> ids;  // empty: the whole fleet
  bool json = false;
};
int RunStatus(const StatusOptions& options);

struct OperatorOptions {
  std::string data_dir;
  std::string verb;  // "rotate" | "revoke"
  std::vector<std::string> ids;
  std::string selector;  // "key=value"
  bool all = false;
  bool wait = false;            // rotate: wait until every accepted rotation has ended
  double wait_timeout_s = 600;  // give up waiting after this long
};
int RunOperator(const OperatorOptions& options);

int RunAuditVerify(const std::string& data_dir, bool json);

// RunApply asks the running daemon to re-read its fleet file (as SIGHUP does).
int RunApply(const std::string& data_dir);

// RunValidate loads a fleet file and prints what it declares, changing nothing.
int RunValidate(const std::string& config);

}  // namespace rotor::app
