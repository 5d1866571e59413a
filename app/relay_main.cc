// rotor-relay: the only process that links librdkafka (ARCHITECTURE §5).
//
//   rotor-relay produce --data-dir D --bootstrap B   drain the outbox to Kafka
//   rotor-relay consume --bootstrap B                 print the audit topic
//   rotor-relay mock-cluster                          librdkafka's mock brokers
//
// `rotor run --kafka B` starts and supervises `produce`; `rotor audit tail`
// and `rotor audit verify --kafka` run `consume` and read its output. It
// never links BoringSSL: its hashing-free work needs none, and librdkafka's
// OpenSSL 3 must be the only libcrypto in the process.

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/log.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/kafka/kafka_reader.h"
#include "connectors/kafka/kafka_relay.h"
#include "connectors/kafka/kafka_settings.h"
#include "connectors/kafka/mock_cluster.h"

namespace {

using rotor::app::LogError;
using rotor::app::LogInfo;
using rotor::app::LogWarn;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDataDir = 3;

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  g_stop = true;
}

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

rotor::StatusOr<std::vector<rotor::KafkaSetting>> ParseSettings(const std::vector<std::string>& texts) {
  std::vector<rotor::KafkaSetting> settings;
  for (const std::string& text : texts) {
    ROTOR_ASSIGN_OR_RETURN(rotor::KafkaSetting setting, rotor::ParseKafkaSetting(text));
    settings.push_back(std::move(setting));
  }
  return settings;
}

struct ProduceArgs {
  std::string data_dir = "./rotor-data";
  std::string bootstrap;
  std::string topic = rotor::kDefaultAuditTopic;
  std::vector<std::string> settings;
  bool until_idle = false;
  bool check = false;
  bool quiet = false;
  int parent_pid = 0;
};

// LockRelay takes <data_dir>/relay.lock: two relays on one outbox would
// interleave an identity's events from two producers.
int LockRelay(const std::string& data_dir) {
  const std::string path = data_dir + "/relay.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -2;
  }
  return fd;
}

int RunProduce(const ProduceArgs& args) {
  rotor::app::SetLogQuiet(args.quiet);
  if (args.parent_pid > 0) {
    // Supervised by a daemon: end with it, so a restarted daemon's relay
    // never races an orphan over the same outbox.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != args.parent_pid) return kExitFailure;
  }
  auto settings = ParseSettings(args.settings);
  if (!settings.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", settings.status().message().c_str());
    return kExitUsage;
  }
  if (auto unsafe = rotor::CheckAuditProducerSettings(*settings); !unsafe.ok()) {
    std::fprintf(args.check ? stdout : stderr, "%s\n", unsafe.message().c_str());
    return kExitUsage;
  }
  if (args.check) {
    // The daemon's start-up check: would librdkafka take these settings?
    rotor::Status created = rotor::CheckProducerConfig(*settings);
    if (!created.ok()) {
      std::printf("%s\n", created.message().c_str());
      return kExitUsage;
    }
    return kExitOk;
  }
  const int lock = LockRelay(args.data_dir);
  if (lock == -2) {
    std::fprintf(stderr, "rotor-relay: another rotor-relay is draining %s (%s/relay.lock is held)\n",
                 args.data_dir.c_str(), args.data_dir.c_str());
    return kExitDataDir;
  }
  if (lock < 0) {
    std::fprintf(stderr, "rotor-relay: cannot open %s/relay.lock: %s\n", args.data_dir.c_str(), std::strerror(errno));
    return kExitDataDir;
  }
  auto store = rotor::LmdbStateStore::Open(args.data_dir, rotor::LmdbStateStore::OpenMode::kSinkWriter);
  if (!store.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", store.status().message().c_str());
    return kExitDataDir;
  }
  rotor::KafkaRelayOptions options;
  options.bootstrap = args.bootstrap;
  options.topic = args.topic;
  options.settings = std::move(settings).value();
  options.log = [](const std::string& line) { LogWarn(line); };
  auto relay = rotor::KafkaRelay::Create(**store, std::move(options));
  if (!relay.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", relay.status().message().c_str());
    return kExitUsage;
  }
  LogInfo("rotor-relay shipping the audit outbox",
          {{"data_dir", args.data_dir}, {"bootstrap", args.bootstrap}, {"topic", args.topic}});
  rotor::Status run = (*relay)->Run(g_stop, args.until_idle);
  LogInfo("rotor-relay stopped", {{"position", std::to_string((*relay)->position())},
                                  {"acknowledged", std::to_string((*relay)->acknowledged())}});
  if (!run.ok()) {
    LogError("rotor-relay failed", {{"error", run.ToString()}});
    return kExitFailure;
  }
  return kExitOk;
}

struct ConsumeArgs {
  std::string bootstrap;
  std::string topic = rotor::kDefaultAuditTopic;
  std::vector<std::string> settings;
  std::string subject;
  bool from_beginning = false;
  bool follow = false;
  bool records = false;
};

// RunConsume prints each event on its own line: the value alone, or with
// --records "<partition> <offset> <value>". A value holding a newline cannot
// be an audit event; it is printed with the newline escaped, so the reader
// still sees it (and its chain check fails) instead of a split line.
int RunConsume(const ConsumeArgs& args) {
  auto settings = ParseSettings(args.settings);
  if (!settings.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", settings.status().message().c_str());
    return kExitUsage;
  }
  rotor::KafkaReadOptions options;
  options.bootstrap = args.bootstrap;
  options.topic = args.topic;
  options.settings = std::move(settings).value();
  options.from_beginning = args.from_beginning;
  options.stop_at_end = !args.follow;
  std::string out;
  rotor::Status read = rotor::ReadAuditTopic(options, g_stop, [&](const rotor::KafkaRecord& record) {
    if (!args.subject.empty() && record.key != args.subject) return true;
    out.clear();
    if (args.records) {
      out += std::to_string(record.partition) + " " + std::to_string(record.offset) + " ";
    }
    for (char c : record.value) {
      if (c == '\n') {
        out += "\\n";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('\n');
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return false;  // reader went away
    if (args.follow) std::fflush(stdout);
    return true;
  });
  std::fflush(stdout);
  if (!read.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", read.message().c_str());
    return read.code() == rotor::StatusCode::kNotFound ? kExitUsage : kExitFailure;
  }
  return kExitOk;
}

struct MockArgs {
  int brokers = 3;
  std::string topic = rotor::kDefaultAuditTopic;
  int partitions = 12;
};

// ParseBrokerId reads "all" or a broker number.
bool ParseBrokerId(const std::string& text, int* id) {
  if (text == "all") {
    *id = -1;
    return true;
  }
  try {
    size_t used = 0;
    *id = std::stoi(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

// RunMockCluster prints the bootstrap servers on the first line of stdout,
// then obeys commands on stdin: "down N|all", "up N|all", "quit". At the end
// of stdin it keeps serving until SIGINT/SIGTERM.
int RunMockCluster(const MockArgs& args) {
  auto cluster = rotor::MockKafkaCluster::Start(args.brokers, args.topic, args.partitions);
  if (!cluster.ok()) {
    std::fprintf(stderr, "rotor-relay: %s\n", cluster.status().message().c_str());
    return kExitFailure;
  }
  std::printf("%s\n", (*cluster)->bootstrap().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "mock Kafka cluster: %d brokers at %s, topic %s with %d partitions (at most 5 MiB each)\n"
               "commands: down N|all, up N|all, quit\n",
               args.brokers, (*cluster)->bootstrap().c_str(), args.topic.c_str(), args.partitions);
  bool stdin_open = true;
  std::string pending;
  while (!g_stop.load()) {
    if (!stdin_open) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
      stdin_open = false;
      continue;
    }
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      std::istringstream words(pending.substr(0, nl));
      std::string verb, target;
      words >> verb >> target;
      if (verb.empty()) continue;
      if (verb == "quit") return kExitOk;
      int id = 0;
      if ((verb != "down" && verb != "up") || !ParseBrokerId(target, &id)) {
        std::printf("error: unknown command \"%s\" (down N|all, up N|all, quit)\n", pending.substr(0, nl).c_str());
      } else {
        rotor::Status s = verb == "down" ? (*cluster)->SetDown(id) : (*cluster)->SetUp(id);
        if (s.ok()) {
          std::printf("ok: %s %s\n", verb.c_str(), target.c_str());
        } else {
          std::printf("error: %s\n", s.message().c_str());
        }
      }
      std::fflush(stdout);
    }
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  InstallStopHandlers();
  CLI::App app{"rotor-relay: ships rotor's audit outbox to Kafka and reads it back", "rotor-relay"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rotor-relay 0.1.0");

  ProduceArgs produce_args;
  auto* produce = app.add_subcommand("produce", "Drain the outbox of a data directory to Kafka until stopped");
  produce->add_option("--data-dir", produce_args.data_dir, "Data directory of the rotor daemon")
      ->default_val("./rotor-data");
  produce->add_option("--bootstrap", produce_args.bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  produce->add_option("--topic", produce_args.topic, "Audit topic")->default_val(rotor::kDefaultAuditTopic);
  produce->add_option("-X", produce_args.settings, "librdkafka property name=value (repeatable)");
  produce->add_flag("--until-idle", produce_args.until_idle,
                    "Stop once the outbox is shipped and acknowledged (for scripts and benchmarks)");
  produce->add_flag("--check", produce_args.check, "Only check the settings (-X) and exit: 0 accepted, 2 refused");
  produce->add_option("--parent-pid", produce_args.parent_pid, "Exit when this parent (the daemon) dies");
  produce->add_flag("--quiet", produce_args.quiet, "Log warnings and errors only");

  ConsumeArgs consume_args;
  auto* consume = app.add_subcommand("consume", "Print the events of the audit topic, one per line");
  consume->add_option("--bootstrap", consume_args.bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  consume->add_option("--topic", consume_args.topic, "Audit topic")->default_val(rotor::kDefaultAuditTopic);
  consume->add_option("-X", consume_args.settings, "librdkafka property name=value (repeatable)");
  consume->add_option("--subject", consume_args.subject, "Only this identity's events");
  consume->add_flag("--from-beginning", consume_args.from_beginning, "Start at the oldest event kept");
  consume->add_flag("--follow", consume_args.follow, "Keep waiting for new events (default: stop at the end)");
  consume->add_flag("--records", consume_args.records, "Prefix each line with \"<partition> <offset> \"");

  MockArgs mock_args;
  auto* mock = app.add_subcommand("mock-cluster", "Run librdkafka's mock Kafka cluster for local runs and tests");
  mock->add_option("--brokers", mock_args.brokers, "Number of brokers")->default_val(3);
  mock->add_option("--topic", mock_args.topic, "Topic to create")->default_val(rotor::kDefaultAuditTopic);
  mock->add_option("--partitions", mock_args.partitions, "Partitions of the topic")->default_val(12);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "rotor-relay: %s\nRun `rotor-relay --help` for usage.\n", e.what());
    return kExitUsage;
  }
  if (*produce) return RunProduce(produce_args);
  if (*consume) return RunConsume(consume_args);
  if (*mock) return RunMockCluster(mock_args);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rotor-relay: unexpected error: %s\n", e.what());
  }
  return kExitFailure;
}
