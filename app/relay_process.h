// Running rotor-relay from rotor (ARCHITECTURE §5): rotor never loads
// librdkafka, so everything that talks to Kafka is a rotor-relay child.
//
// RelaySupervisor keeps `rotor-relay produce` running beside the daemon,
// restarting it with back-off, and watches the Kafka backlog (outbox entries
// not yet acknowledged by Kafka) against a bound.
//
// Thread-safety: RelaySupervisor's methods may be called from any thread;
// it runs its own thread between Start and Stop.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/ports/state_store.h"
#include "engine/status.h"

namespace rotor::app {

// The relay's sink name in the store (connectors/kafka/kafka_settings.h says
// the same; app/ cannot include it without linking librdkafka's connector).
inline constexpr char kRelaySinkName[] = "kafka";

// RelayBinary is $ROTOR_RELAY when set, else rotor-relay beside this binary.
std::string RelayBinary();

// CheckRelaySettings asks rotor-relay whether it accepts `settings` (name=value)
// for the audit producer; InvalidArgument carries its reason.
Status CheckRelaySettings(const std::vector<std::string>& settings);

// ReadAll reads `fd` to its end, then closes it.
std::string ReadAll(int fd);

// WaitChild waits for `pid` and returns its exit code (128+N for signal N).
int WaitChild(pid_t pid);

struct RelayChild {
  pid_t pid = -1;
  int stdout_fd = -1;  // when captured
};

// SpawnRelay starts rotor-relay with `args` (without argv[0]), with an empty
// signal mask and in its own process group (a terminal's Ctrl-C reaches the
// daemon, which stops the relay after its last drain).
StatusOr<RelayChild> SpawnRelay(const std::vector<std::string>& args, bool capture_stdout);

// What to do when the backlog passes its bound (docs/operator-guide.md).
enum class BacklogPolicy {
  kAlert,         // keep rotating; log a warning (and count it) while over
  kPauseRoutine,  // also hold scheduled rotations; operator and emergency rotations still run
};

struct RelaySupervisorOptions {
  std::string data_dir;
  std::string bootstrap;
  std::string topic;
  std::vector<std::string> settings;  // -X name=value
  bool quiet = false;                 // the relay logs warnings and errors only (rotor run --quiet)
  uint64_t backlog_limit = 1000000;
  BacklogPolicy policy = BacklogPolicy::kAlert;
  // Called with true when the backlog passes the bound, false when back under.
  std::function<void(bool over)> on_backlog;
};

class RelaySupervisor {
 public:
  RelaySupervisor(RelaySupervisorOptions options, StateStore* store);
  ~RelaySupervisor();
  RelaySupervisor(const RelaySupervisor&) = delete;
  RelaySupervisor& operator=(const RelaySupervisor&) = delete;

  void Start();
  // Stop sends SIGTERM to the relay (it records its position and exits),
  // waits up to 10 s, then SIGKILL.
  void Stop();

  uint64_t starts() const { return starts_; }
  bool backlog_over() const { return over_; }

 private:
  void Loop();
  void CheckBacklog();
  bool WaitStop(std::chrono::milliseconds d);

  // Constant after construction.
  const RelaySupervisorOptions options_;
  StateStore* const store_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<uint64_t> starts_{0};
  std::atomic<bool> over_{false};
  std::chrono::steady_clock::time_point last_alert_;
  std::thread thread_;
};

}  // namespace rotor::app
