#include "app/audit_kafka.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/daemon.h"
#include "app/relay_process.h"
#include "connectors/crypto/boring_hasher.h"
#include "engine/audit_stream.h"

namespace rotor::app {
namespace {

pid_t g_child = -1;

// Ctrl-C reaches rotor only (the relay has its own process group): pass it on.
void ForwardStop(int) {
  if (g_child > 0) ::kill(g_child, SIGTERM);
}

std::vector<std::string> ConsumeArgs(const KafkaAuditOptions& o, bool records) {
  std::vector<std::string> args = {"consume", "--bootstrap", o.bootstrap, "--topic", o.topic};
  if (records) args.push_back("--records");
  if (o.from_beginning) args.push_back("--from-beginning");
  if (o.follow) args.push_back("--follow");
  if (!o.subject.empty()) {
    args.push_back("--subject");
    args.push_back(o.subject);
  }
  for (const auto& s : o.settings) {
    args.push_back("-X");
    args.push_back(s);
  }
  return args;
}

// ForEachLine calls fn for every complete line the relay prints, then waits
// for it; returns its exit code.
template <typename Fn>
StatusOr<int> RunRelayReading(const std::vector<std::string>& args, Fn fn) {
  ROTOR_ASSIGN_OR_RETURN(RelayChild child, SpawnRelay(args, true));
  g_child = child.pid;
  struct sigaction sa = {};
  sa.sa_handler = ForwardStop;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int, old_term;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  FILE* in = ::fdopen(child.stdout_fd, "r");
  char* line = nullptr;
  size_t cap = 0;
  for (;;) {
    errno = 0;
    ssize_t n = ::getline(&line, &cap, in);
    if (n < 0) {
      if (errno == EINTR) {
        clearerr(in);
        continue;
      }
      break;
    }
    std::string_view text(line, static_cast<size_t>(n));
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    fn(text);
  }
  std::free(line);
  std::fclose(in);
  const int code = WaitChild(child.pid);
  g_child = -1;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return code;
}

}  // namespace

int RunAuditTail(const KafkaAuditOptions& options) {
  auto code = RunRelayReading(ConsumeArgs(options, false), [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  });
  if (!code.ok()) {
    std::fprintf(stderr, "rotor: %s\n", code.status().message().c_str());
    return kExitFailure;
  }
  // Stopped by Ctrl-C (the relay exits cleanly on SIGTERM): a normal end.
  return *code == 0 ? kExitOk : (*code == kExitUsage ? kExitUsage : kExitFailure);
}

int RunAuditVerifyKafka(const KafkaAuditOptions& options) {
  BoringHasher hasher;
  AuditStreamVerifier verifier(hasher);
  KafkaAuditOptions read = options;
  read.from_beginning = true;
  read.follow = false;
  read.subject.clear();
  uint64_t malformed = 0;
  auto code = RunRelayReading(ConsumeArgs(read, true), [&](std::string_view line) {
    // "<partition> <offset> <event>"
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) {
      ++malformed;
      return;
    }
    const std::string where =
        "partition " + std::string(line.substr(0, a)) + " offset " + std::string(line.substr(a + 1, b - a - 1));
    verifier.Feed(line.substr(b + 1), where);
  });
  if (!code.ok()) {
    std::fprintf(stderr, "rotor: %s\n", code.status().message().c_str());
    return kExitFailure;
  }
  if (*code != 0 || malformed > 0) {
    std::fprintf(stderr, "rotor: reading topic %s through rotor-relay failed (exit %d)\n", options.topic.c_str(),
                 *code);
    return *code == kExitUsage ? kExitUsage : kExitFailure;
  }
  const StreamVerifyReport report = verifier.Report();
  if (report.records == 0) {
    std::fprintf(stderr, "rotor: topic %s holds no events (is it the right topic and cluster?)\n",
                 options.topic.c_str());
    return kExitFailure;
  }
  if (options.json) {
    nlohmann::json j = {{"ok", report.ok()},       {"topic", options.topic},          {"records", report.records},
                        {"events", report.events}, {"identities", report.identities}, {"duplicates", report.duplicates},
                        {"gaps", report.gaps},     {"breaks", report.breaks},         {"problems", report.problems}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("kafka topic %s: %llu records, %llu events of %llu identities\n", options.topic.c_str(),
                static_cast<unsigned long long>(report.records), static_cast<unsigned long long>(report.events),
                static_cast<unsigned long long>(report.identities));
    std::printf("duplicates %llu, gaps %llu, breaks %llu\n", static_cast<unsigned long long>(report.duplicates),
                static_cast<unsigned long long>(report.gaps), static_cast<unsigned long long>(report.breaks));
    for (const auto& p : report.problems) std::printf("  %s\n", p.c_str());
    std::printf("%s\n", report.ok() ? "OK: every chain verifies (duplicates are resends, harmless)"
                                    : "FAILED: events are missing or altered");
  }
  return report.ok() ? kExitOk : kExitFailure;
}

}  // namespace rotor::app
