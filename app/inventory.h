// `rotor import` and `rotor inventory`: reading existing credentials from
// files and directories into the data directory's inventory, and reporting
// on it (ARCHITECTURE §5, certificate parsing for import).
//
// Each returns the process exit code (app/daemon.h) and prints its result on
// stdout, its errors on stderr.
#pragma once

#include <string>
#include <vector>

#include "engine/inventory.h"
#include "engine/ports/credentials.h"

namespace rotor::app {

// What makes a certificate "due": renewal at a fraction of its lifetime, or
// a fixed time before its expiry (the same rule as a fleet's policy).
struct DueRule {
  double renew_fraction = 2.0 / 3.0;
  std::string renew_before;  // a duration ("30d"); overrides the fraction when set
  // A named policy of a fleet file (its renew_at or renew_before); overrides both.
  std::string config;
  std::string policy;
};

struct ImportOptions {
  std::string data_dir;
  std::vector<std::string> paths;
  bool json = false;
  bool recursive = false;
  DueRule due;
  // --adopt (app/adopt.h): take the leaves over under due.policy of due.config.
  bool adopt = false;
  bool dry_run = false;
  std::vector<std::string> adopt_ids;  // --id SERIAL=ID or sha256:FINGERPRINT=ID
  std::string id_prefix;
};
// RunImport scans `paths`, prints one result per item, and stores every
// certificate, key and CSR found in one transaction. Exit 0 when every item
// was read, 1 when some could not be (the others are stored all the same),
// 3 when the inventory cannot be written.
int RunImport(const ImportOptions& options);

struct InventoryOptions {
  std::string data_dir;
  bool json = false;
  bool csv = false;
  std::string expiring_within;  // a duration; empty: every certificate
  std::string fail_on;          // "", "expired" or "due"
  std::string serial;           // a serial as pasted; empty: every item
  DueRule due;
};
// RunInventory prints the inventory (certificates by expiry, then keys and
// CSRs) and a summary per status. Exit 1 when --fail-on matches a
// certificate shown, 3 when there is no inventory.
int RunInventory(const InventoryOptions& options);

// ScanPaths reads every file under `paths` (directories: their files; with
// `recursive`, their subdirectories too), following symbolic links, each file
// once, and returns every item with its links (LinkInventory). A path that
// cannot be read — missing, a symlink loop, unreadable, not a regular file,
// larger than 256 MiB — is one kError item naming the reason.
std::vector<InventoryItem> ScanPaths(const std::vector<std::string>& paths, bool recursive);
// ScanPathsWithDer is ScanPaths that also fills `ders` with one entry per
// item, in the same order: the DER of each certificate and unencrypted
// private key (x509::ScanBytes), empty for the rest.
std::vector<InventoryItem> ScanPathsWithDer(const std::vector<std::string>& paths, bool recursive,
                                            std::vector<SecretBytes>* ders);

}  // namespace rotor::app
