#include "connectors/process/posix_command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

namespace rotor {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Without a pidfd the loop wakes this often to notice the child's exit.
constexpr int kFallbackPollMillis = 10;
// After the child exited, at most this much more is read from each pipe: a
// background process that inherited the pipe must not keep us reading.
constexpr size_t kMaxDrainBytes = 1 << 20;

std::string ErrnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Capture keeps the first kExcerptBytes of a stream and counts the rest.
struct Capture {
  int fd = -1;  // read end, owned; -1 once closed
  std::string head;
  bool truncated = false;

  void Append(const char* data, size_t n) {
    size_t room = PosixCommandRunner::kExcerptBytes - head.size();
    head.append(data, std::min(room, n));
    if (n > room) truncated = true;
  }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // ReadOnce reads what is available; closes the pipe at EOF or on error.
  void ReadOnce() {
    char buf[16384];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      Append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      Close();
    }
  }
  // Drain reads what the exited child left in the pipe, without blocking.
  void Drain() {
    if (fd < 0) return;
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Close();
    char buf[16384];
    size_t total = 0;
    while (total < kMaxDrainBytes) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      Append(buf, static_cast<size_t>(n));
      total += static_cast<size_t>(n);
    }
    Close();
  }
};

// Excerpt renders captured output for an error message: printable ASCII
// only (it ends up in logs and audit events), trailing whitespace trimmed.
std::string Excerpt(const Capture& out, const Capture& err) {
  const Capture& c = err.head.find_first_not_of(" \t\r\n") != std::string::npos ? err : out;
  std::string s;
  s.reserve(c.head.size());
  for (char ch : c.head) {
    unsigned char u = static_cast<unsigned char>(ch);
    s.push_back((u >= 0x20 && u < 0x7f) || ch == '\n' || ch == '\t' ? ch : '?');
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (c.truncated) s += " ...(truncated)";
  return s;
}

std::string FormatSeconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", d.seconds());
  return buf;
}

// Spawned-process resources that must be released on every path.
class SpawnAttrs {
 public:
  SpawnAttrs() {
    ok_ = posix_spawn_file_actions_init(&actions_) == 0;
    ok_ = posix_spawnattr_init(&attr_) == 0 && ok_;
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;

  // Configure wires stdin to /dev/null, stdout/stderr to the pipes, a new
  // process group (so a timeout kills the command's children too), and
  // default signal handling (the daemon may ignore SIGPIPE or block signals).
  bool Configure(int out_w, int err_w) {
    if (!ok_) return false;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    return posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0) == 0 &&
           posix_spawn_file_actions_adddup2(&actions_, out_w, 1) == 0 &&
           posix_spawn_file_actions_adddup2(&actions_, err_w, 2) == 0 &&
           posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ==
               0 &&
           posix_spawnattr_setpgroup(&attr_, 0) == 0 && posix_spawnattr_setsigmask(&attr_, &none) == 0 &&
           posix_spawnattr_setsigdefault(&attr_, &all) == 0;
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  bool ok_ = false;
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// WaitBlocking reaps `pid`, retrying EINTR.
int WaitBlocking(pid_t pid, int* wstatus) {
  int r;
  do {
    r = ::waitpid(pid, wstatus, 0);
  } while (r < 0 && errno == EINTR);
  return r;
}

Status ExitStatus(int wstatus, const Capture& out, const Capture& err) {
  if (WIFEXITED(wstatus)) {
    int code = WEXITSTATUS(wstatus);
    if (code == 0) return Status::Ok();
    std::string msg = "command exited with status " + std::to_string(code);
    std::string excerpt = Excerpt(out, err);
    if (!excerpt.empty()) msg += ": " + excerpt;
    return PermissionDenied(std::move(msg));
  }
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    const char* abbrev = sigabbrev_np(sig);
    std::string msg = "command killed by signal " + std::to_string(sig) + " (SIG" + (abbrev ? abbrev : "?") + ")";
    std::string excerpt = Excerpt(out, err);
    if (!excerpt.empty()) msg += ": " + excerpt;
    // Killed from outside (OOM killer, shutdown): may succeed next time.
    // Any other signal is the command crashing, which a retry repeats.
    bool external = sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
    return external ? Unavailable(std::move(msg)) : PermissionDenied(std::move(msg));
  }
  return Internal("command ended with unexpected wait status " + std::to_string(wstatus));
}

}  // namespace

Status PosixCommandRunner::Run(const std::string& command, const std::map<std::string, std::string>& env,
                               Duration timeout) {
  if (timeout <= Duration::Zero()) return InvalidArgument("command timeout must be positive");
  if (command.find('\0') != std::string::npos) return InvalidArgument("command contains NUL");

  // Environment: the parent's, minus names the caller overrides, plus the caller's.
  std::vector<std::string> extra;
  extra.reserve(env.size());
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument("invalid environment variable name or value: \"" + name + "\"");
    }
    extra.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (env.find(std::string(name)) == env.end()) envp.push_back(*e);
  }
  for (std::string& s : extra) envp.push_back(s.data());
  envp.push_back(nullptr);

  // O_CLOEXEC: a command spawned concurrently by another thread must not
  // inherit our pipe ends. dup2 onto 1 and 2 clears the flag in our child.
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Unavailable("pipe2: " + ErrnoText(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return Unavailable("pipe2: " + ErrnoText(e));
  }
  Capture out;
  out.fd = out_pipe[0];
  Capture err;
  err.fd = err_pipe[0];

  pid_t pid = -1;
  int spawn_rc;
  {
    SpawnAttrs attrs;
    if (!attrs.Configure(out_pipe[1], err_pipe[1])) {
      spawn_rc = -1;
    } else {
      char sh[] = "/bin/sh";
      char dash_c[] = "-c";
      char* argv[] = {sh, dash_c, const_cast<char*>(command.c_str()), nullptr};
      spawn_rc = ::posix_spawn(&pid, "/bin/sh", attrs.actions(), attrs.attr(), argv, envp.data());
    }
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawn_rc != 0) {
    out.Close();
    err.Close();
    if (spawn_rc < 0) return Internal("posix_spawn attributes could not be set up");
    std::string msg = "posix_spawn /bin/sh: " + ErrnoText(spawn_rc);
    return spawn_rc == EAGAIN || spawn_rc == ENOMEM ? Unavailable(std::move(msg)) : Internal(std::move(msg));
  }

  // A pidfd becomes readable when the child exits, so poll() wakes at once;
  // without one (old kernel, seccomp) the loop polls every few milliseconds.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const SteadyClock::time_point deadline = SteadyClock::now() + std::chrono::microseconds(timeout.micros);
  int wstatus = 0;
  Status result;
  while (true) {
    int r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) {
      out.Drain();
      err.Drain();
      result = ExitStatus(wstatus, out, err);
      break;
    }
    if (r < 0 && errno != EINTR) {
      result = Internal("waitpid: " + ErrnoText(errno) + " (is SIGCHLD ignored or reaped elsewhere?)");
      ::kill(-pid, SIGKILL);
      break;
    }
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (remaining.count() <= 0) {
      ::kill(-pid, SIGKILL);  // the process group: sh and whatever it started
      WaitBlocking(pid, &wstatus);
      result = Unavailable("command timed out after " + FormatSeconds(timeout) + "s");
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    Capture* owners[3] = {nullptr, nullptr, nullptr};
    for (Capture* c : {&out, &err}) {
      if (c->fd < 0) continue;
      owners[n] = c;
      fds[n++] = {.fd = c->fd, .events = POLLIN, .revents = 0};
    }
    int wait_ms = static_cast<int>(std::min<int64_t>(remaining.count(), 60'000));
    if (pidfd >= 0) {
      fds[n++] = {.fd = pidfd, .events = POLLIN, .revents = 0};
    } else {
      wait_ms = std::min(wait_ms, kFallbackPollMillis);
    }
    int ready = ::poll(fds, n, wait_ms);
    if (ready < 0 && errno != EINTR) {
      result = Internal("poll: " + ErrnoText(errno));
      ::kill(-pid, SIGKILL);
      WaitBlocking(pid, &wstatus);
      break;
    }
    for (nfds_t i = 0; ready > 0 && i < n; ++i) {
      if (owners[i] != nullptr && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) owners[i]->ReadOnce();
    }
  }
  out.Close();
  err.Close();
  if (pidfd >= 0) ::close(pidfd);
  return result;
}

}  // namespace rotor
