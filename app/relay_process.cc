#include "app/relay_process.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "app/log.h"
#include "engine/decimal.h"

extern char** environ;

namespace rotor::app {
namespace {

std::string ExitText(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::string RelayBinary() {
  if (const char* env = std::getenv("ROTOR_RELAY"); env != nullptr && *env != '\0') return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "rotor-relay";
  std::string path(self, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/rotor-relay";
}

StatusOr<RelayChild> SpawnRelay(const std::vector<std::string>& args, bool capture_stdout) {
  const std::string binary = RelayBinary();
  if (::access(binary.c_str(), X_OK) != 0) {
    return FailedPrecondition("cannot run " + binary + " (" + std::strerror(errno) +
                              "): Kafka needs rotor-relay beside rotor, or ROTOR_RELAY naming it");
  }
  std::vector<std::string> argv_store;
  argv_store.push_back(binary);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_store.size() + 1);
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      posix_spawnattr_destroy(&attr);
      posix_spawn_file_actions_destroy(&actions);
      return Unavailable(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  RelayChild child;
  const int rc = ::posix_spawn(&child.pid, binary.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) ::close(pipe_fds[1]);
  if (rc != 0) {
    if (capture_stdout) ::close(pipe_fds[0]);
    return Unavailable("cannot start " + binary + ": " + std::strerror(rc));
  }
  child.stdout_fd = pipe_fds[0];
  return child;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int WaitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

Status CheckRelaySettings(const std::vector<std::string>& settings) {
  std::vector<std::string> args = {"produce", "--check", "--bootstrap", "check"};
  for (const auto& s : settings) {
    args.push_back("-X");
    args.push_back(s);
  }
  ROTOR_ASSIGN_OR_RETURN(RelayChild child, SpawnRelay(args, true));
  std::string said = ReadAll(child.stdout_fd);
  const int code = WaitChild(child.pid);
  while (!said.empty() && said.back() == '\n') said.pop_back();
  if (code != 0) return InvalidArgument(said.empty() ? "rotor-relay refused the Kafka settings" : said);
  return Status::Ok();
}

RelaySupervisor::RelaySupervisor(RelaySupervisorOptions options, StateStore* store)
    : options_(std::move(options)), store_(store) {}

RelaySupervisor::~RelaySupervisor() {
  Stop();
}

void RelaySupervisor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void RelaySupervisor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RelaySupervisor::WaitStop(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stop_; });
}

// CheckBacklog: the backlog passes the bound when the outbox holds an entry
// more than `backlog_limit` past the relay's recorded position.
void RelaySupervisor::CheckBacklog() {
  uint64_t position = 0;
  auto recorded = store_->GetSinkPosition(kRelaySinkName);
  if (recorded.ok()) {
    position = ParseDecimal(recorded->substr(0, recorded->find(' '))).value_or(0);
  } else if (recorded.status().code() != StatusCode::kNotFound) {
    return;
  }
  auto beyond = store_->ReadOutbox(position + options_.backlog_limit, 1);
  if (!beyond.ok()) return;
  const bool over = !beyond->empty();
  const auto now = std::chrono::steady_clock::now();
  if (over != over_.load()) {
    over_ = over;
    if (over) {
      LogWarn("Kafka backlog passed its bound",
              {{"limit", std::to_string(options_.backlog_limit)},
               {"kafka_position", std::to_string(position)},
               {"policy", options_.policy == BacklogPolicy::kAlert ? "alert" : "pause-routine"}});
      last_alert_ = now;
    } else {
      LogInfo("Kafka backlog back under its bound", {{"limit", std::to_string(options_.backlog_limit)}});
    }
    if (options_.on_backlog) options_.on_backlog(over);
  } else if (over && now - last_alert_ >= std::chrono::seconds(60)) {
    LogWarn("Kafka backlog still over its bound",
            {{"limit", std::to_string(options_.backlog_limit)}, {"kafka_position", std::to_string(position)}});
    last_alert_ = now;
  }
}

void RelaySupervisor::Loop() {
  std::vector<std::string> args = {"produce",      "--data-dir",       options_.data_dir,
                                   "--bootstrap",  options_.bootstrap, "--topic",
                                   options_.topic, "--parent-pid",     std::to_string(::getpid())};
  for (const auto& s : options_.settings) {
    args.push_back("-X");
    args.push_back(s);
  }
  if (options_.quiet) args.push_back("--quiet");
  auto backoff = std::chrono::milliseconds(500);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    auto child = SpawnRelay(args, false);
    if (!child.ok()) {
      LogError("cannot start rotor-relay; the audit outbox keeps the events", {{"error", child.status().message()}});
      CheckBacklog();
      if (WaitStop(kMaxBackoff)) return;
      continue;
    }
    ++starts_;
    const auto started = std::chrono::steady_clock::now();
    LogInfo("rotor-relay started", {{"pid", std::to_string(child->pid)}, {"bootstrap", options_.bootstrap}});
    int status = 0;
    bool stopping = false;
    auto stop_sent = std::chrono::steady_clock::time_point{};
    while (true) {
      pid_t done = ::waitpid(child->pid, &status, WNOHANG);
      if (done == child->pid) break;
      if (!stopping && WaitStop(std::chrono::milliseconds(250))) {
        stopping = true;
        stop_sent = std::chrono::steady_clock::now();
        ::kill(child->pid, SIGTERM);
      }
      if (stopping) {
        if (std::chrono::steady_clock::now() - stop_sent > std::chrono::seconds(10)) ::kill(child->pid, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } else {
        CheckBacklog();
      }
    }
    if (stopping) {
      LogInfo("rotor-relay stopped", {{"status", ExitText(status)}});
      return;
    }
    const auto ran = std::chrono::steady_clock::now() - started;
    if (ran > std::chrono::seconds(30)) backoff = std::chrono::milliseconds(500);
    LogWarn("rotor-relay exited; restarting it",
            {{"status", ExitText(status)}, {"restart_in_ms", std::to_string(backoff.count())}});
    if (WaitStop(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace rotor::app
