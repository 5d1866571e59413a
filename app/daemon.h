// The rotor daemon: wires the engine, the actors and the connectors for one
// data directory and runs until stopped (ARCHITECTURE §1, §7).
#pragma once

#include <string>

#include "engine/status.h"

namespace rotor::app {

struct DaemonOptions {
  std::string data_dir = "./rotor-data";
  std::string config;
  double duration_seconds = 0;  // 0: until SIGINT/SIGTERM
  double issuer_rate = 0;       // issuances per second per issuer; 0: unlimited
  bool progress = true;         // one-line progress when stderr is a terminal
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
