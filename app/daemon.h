// The rotor daemon: wires the engine, the actors and the connectors for one
// data directory and runs until stopped (ARCHITECTURE §1, §7).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace rotor::app {

struct DaemonOptions {
  std::string data_dir = "./rotor-data";
  std::string config;
  double duration_seconds = 0;  // 0: until SIGINT/SIGTERM
  double issuer_rate = 0;       // issuances per second per issuer; 0: unlimited
  bool progress = true;         // one-line progress when stderr is a terminal
  // Kafka (rotor-relay, supervised): empty bootstrap means no Kafka.
  std::string kafka_bootstrap;
  std::string kafka_topic = "rotor.audit";
  std::vector<std::string> kafka_settings;     // librdkafka name=value
  uint64_t kafka_backlog_limit = 1000000;      // outbox entries Kafka has not acknowledged
  std::string kafka_backlog_policy = "alert";  // or "pause-routine"
};

// RunDaemon returns the process exit code: 0 clean stop, 1 runtime failure,
// 2 bad input (fleet file), 3 data directory in use or unusable.
int RunDaemon(const DaemonOptions& options);

// Exit codes shared by the CLI.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDataDir = 3;

}  // namespace rotor::app
