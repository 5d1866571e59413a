// PosixCommandRunner: the CommandRunner port (engine/ports/credentials.h) for
// hooks and verify commands.
//
// Runs `/bin/sh -c <command>` with posix_spawn (never fork: the daemon is
// multi-threaded, and a forked child of a threaded process may only call
// async-signal-safe functions). The child gets the parent's environment plus
// the given variables (which win on a clash), stdin from /dev/null, its own
// process group, default signal dispositions and an empty signal mask.
// stdout and stderr are drained concurrently; the first 4 KiB of each are
// kept for the error message.
//
// Outcomes:
//   exit 0                          -> OK
//   exit N != 0                     -> PermissionDenied "command exited with status N: <excerpt>"
//                                      (a rejection: retrying the same input will not help)
//   timeout                         -> the whole process group is SIGKILLed;
//                                      Unavailable "command timed out after Xs"
//   killed by SIGKILL/SIGTERM/SIGINT/SIGHUP (OOM killer, shutdown) -> Unavailable
//   killed by any other signal (a crash) -> PermissionDenied
//   spawn failed                    -> Unavailable for EAGAIN/ENOMEM, Internal otherwise
// The excerpt is stderr, or stdout when stderr is empty.
//
// The command runs until it exits, not until its output closes: a hook that
// leaves a background process holding stdout does not hold up the caller.
//
// Thread-safe: Run may be called from several threads at once. It requires
// that nothing else in the process reaps children it did not spawn
// (waitpid(-1), SIGCHLD set to SIG_IGN), and reads `environ`, so no thread may
// call setenv concurrently.
#pragma once

#include <map>
#include <string>

#include "engine/ports/credentials.h"

namespace rotor {

class PosixCommandRunner final : public CommandRunner {
 public:
  static constexpr size_t kExcerptBytes = 4096;

  // CommandRunner:
  // Run fails with InvalidArgument if `timeout` is not positive or a variable
  // name is empty or contains '=' or NUL.
  Status Run(const std::string& command, const std::map<std::string, std::string>& env, Duration timeout) override;
};

}  // namespace rotor
