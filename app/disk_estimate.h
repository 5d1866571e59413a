// DiskEstimate: how much disk the next rotation of a fleet writes, checked at
// start so that a large run refuses to begin instead of filling the disk
// (issue 4).
//
// The horizon is one rotation of every identity: its audit events (started,
// issued, delivered, verified, committed, then the old version retired), the
// new version's files in out/ (the old one stays until its grace ends), and
// the store records of identities declared for the first time. The constants
// are the sizes measured in docs/operator-guide.md, rounded up. The journal
// keeps growing after that (retention: forever); the operator guide says by
// how much. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/fleet.h"
#include "engine/status.h"

namespace rotor::app {

struct DiskEstimate {
  uint64_t store_bytes = 0;
  uint64_t journal_bytes = 0;
  uint64_t delivery_bytes = 0;
  uint64_t total() const { return store_bytes + journal_bytes + delivery_bytes; }
};

// Measured sizes (docs/operator-guide.md, capacity), rounded up.
inline constexpr uint64_t kStoreBytesPerIdentity = 1024;  // LMDB: ~330 B a record, pages, outbox
inline constexpr uint64_t kEventsPerRotation = 6;
inline constexpr uint64_t kAuditEventBytes = 640;                // ~520 B API key, more for certificates
inline constexpr uint64_t kApiKeyVersionBytes = 8 * 1024;        // a directory and a file
inline constexpr uint64_t kCertificateVersionBytes = 20 * 1024;  // a directory and three files

// EstimateDisk returns what the next rotation of every identity in `fleet`
// writes; `new_identities` of them are declared for the first time.
DiskEstimate EstimateDisk(const FleetSpec& fleet, uint64_t new_identities);

// CheckFreeSpace compares the estimate with the space free to an
// unprivileged user on the file system of `data_dir` (statvfs f_bavail) and
// fails with ResourceExhausted, naming the estimate, its parts and what is
// free, when it does not fit. `free_override` replaces the measured free
// space (tests; the daemon passes ROTOR_DISK_FREE_BYTES when set).
Status CheckFreeSpace(const std::string& data_dir, const DiskEstimate& estimate,
                      std::optional<uint64_t> free_override = std::nullopt);

// HumanBytes formats a size as "12.3 GB" (powers of 1000), "512 B" below 1 kB.
std::string HumanBytes(uint64_t bytes);

}  // namespace rotor::app
