// `rotor kek rotate`: rotation of the key-encryption key itself (the KEK that
// seals the managed CA's keys at rest, ARCHITECTURE §6, docs/decisions.md §12).
#pragma once

#include <string>

namespace rotor::app {

struct KekRotateOptions {
  std::string data_dir;
  std::string config;        // fleet file: its ca.kek_file names the KEK in use
  std::string new_kek_file;  // empty: a fresh KEK replaces <data-dir>/kek
};

// RunKekRotate re-seals every CA key under a new KEK while no daemon runs
// (it holds the data directory's lock). With --new-kek-file the operator
// supplies the new KEK and points the fleet or ROTOR_KEK_FILE at it before
// the next start. Without it, when the KEK in use is <data-dir>/kek, a fresh
// KEK is made in <data-dir>/kek.new and, once every key is re-sealed, renamed
// over <data-dir>/kek. Interrupted, it is run again with the same arguments:
// keys already under the new KEK are skipped. Exit codes as every command.
int RunKekRotate(const KekRotateOptions& options);

}  // namespace rotor::app
