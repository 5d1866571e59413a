#include "app/disk_estimate.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rotor::app {

DiskEstimate EstimateDisk(const FleetSpec& fleet, uint64_t new_identities) {
  DiskEstimate e;
  for (const auto& group : fleet.groups) {
    const uint64_t n = group.identities.size();
    e.journal_bytes += n * kEventsPerRotation * kAuditEventBytes;
    e.delivery_bytes += n * (group.kind == CredentialKind::kApiKey ? kApiKeyVersionBytes : kCertificateVersionBytes);
  }
  e.store_bytes = new_identities * kStoreBytesPerIdentity;
  return e;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1000) return std::to_string(bytes) + " B";
  static const char* kUnits[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes) / 1000.0;
  size_t unit = 0;
  while (v >= 1000.0 && unit + 1 < std::size(kUnits)) {
    v /= 1000.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  return buf;
}

Status CheckFreeSpace(const std::string& data_dir, const DiskEstimate& estimate,
                      std::optional<uint64_t> free_override) {
  uint64_t free_bytes;
  if (free_override) {
    free_bytes = *free_override;
  } else {
    struct statvfs st;
    if (statvfs(data_dir.c_str(), &st) != 0) {
      return Unavailable("cannot measure the free space of " + data_dir + ": " + std::strerror(errno));
    }
    free_bytes = static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }
  if (free_bytes >= estimate.total()) return Status::Ok();
  return ResourceExhausted("not enough disk in " + data_dir + ": the next rotation of this fleet needs about " +
                           HumanBytes(estimate.total()) + " (store " + HumanBytes(estimate.store_bytes) +
                           ", audit journal " + HumanBytes(estimate.journal_bytes) + ", delivered versions " +
                           HumanBytes(estimate.delivery_bytes) + ") but " + HumanBytes(free_bytes) +
                           " is free; free some space or move the data directory, nothing was started");
}

}  // namespace rotor::app
