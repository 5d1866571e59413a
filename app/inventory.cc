#include "app/inventory.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/mem.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "app/adopt.h"
#include "app/crash_hook.h"
#include "app/daemon.h"
#include "app/fleet_loader.h"
#include "connectors/crypto/cert_scan.h"
#include "connectors/embedded/lmdb_inventory_store.h"
#include "engine/ports/clock.h"

namespace rotor::app {
namespace {

using Json = nlohmann::ordered_json;

constexpr off_t kMaxFileSize = off_t{256} << 20;

// Walk state: what was read already, so that each file is read once and a
// directory reached again through a symlink is reported instead of looping.
struct Walk {
  bool recursive = false;
  std::set<std::pair<dev_t, ino_t>> dirs;
  std::set<std::pair<dev_t, ino_t>> files;
  std::vector<InventoryItem> items;
  std::vector<SecretBytes>* ders = nullptr;  // with ScanPathsWithDer: one per item

  void Error(const std::string& path, std::string reason) {
    InventoryItem item;
    item.file = path;
    item.position = 0;
    item.type = ItemType::kError;
    item.error = std::move(reason);
    items.push_back(std::move(item));
    if (ders != nullptr) ders->emplace_back();
  }
};

std::string ErrnoReason(int err) {
  switch (err) {
    case ELOOP: return "symbolic link loop (too many levels of symbolic links)";
    case ENOENT: return "no such file (or a dangling symbolic link)";
    case EACCES: return "permission denied";
    default: return std::strerror(err);
  }
}

const char* FileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

void ReadFile(const std::string& path, Walk* walk) {
  // O_NONBLOCK: a FIFO must not hang the import; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return walk->Error(path, "cannot open: " + ErrnoReason(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return walk->Error(path, "cannot stat: " + ErrnoReason(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return walk->Error(path, std::string("not read: ") + FileKind(st.st_mode));
  }
  if (!walk->files.insert({st.st_dev, st.st_ino}).second) {
    ::close(fd);
    return;  // the same file through another name (a symlink, a hard link)
  }
  if (st.st_size > kMaxFileSize) {
    ::close(fd);
    return walk->Error(path, "file of " + std::to_string(st.st_size) + " bytes is larger than the 256 MiB limit");
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (true) {
    if (got == data.size()) data.resize(data.size() + 65536);  // the file grew, or /proc-like size 0
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return walk->Error(path, "cannot read: " + ErrnoReason(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got > static_cast<size_t>(kMaxFileSize)) {
      ::close(fd);
      return walk->Error(path, "file is larger than the 256 MiB limit");
    }
  }
  ::close(fd);
  data.resize(got);
  auto items = x509::ScanBytes(data, path, walk->ders);
  OPENSSL_cleanse(data.data(), data.size());
  for (auto& item : items) walk->items.push_back(std::move(item));
}

void WalkPath(const std::string& path, bool top, Walk* walk) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return walk->Error(path, ErrnoReason(errno));
  if (!S_ISDIR(st.st_mode)) return ReadFile(path, walk);
  if (!top && !walk->recursive) return;
  if (!walk->dirs.insert({st.st_dev, st.st_ino}).second) {
    return walk->Error(path, "directory already visited through another path (a symbolic link loop); not read again");
  }
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return walk->Error(path, "cannot list directory: " + ErrnoReason(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  const std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
  for (const auto& name : names) WalkPath(prefix + name, false, walk);
}

StatusOr<RenewalPolicy> PolicyOf(const DueRule& rule) {
  RenewalPolicy policy;
  policy.jitter = 0;
  if (!rule.policy.empty() || !rule.config.empty()) {
    if (rule.policy.empty() || rule.config.empty()) {
      return InvalidArgument("--policy NAME and --config FILE go together");
    }
    auto fleet = LoadFleetFile(rule.config, SystemClock().Now());
    if (!fleet.ok()) return InvalidArgument(fleet.status().message());
    for (const GroupSpec& group : fleet->groups) {
      if (group.policy.name == rule.policy) {
        policy = group.policy;
        policy.jitter = 0;
        return policy;
      }
    }
    return InvalidArgument(UnknownPolicyMessage(*fleet, rule.config, rule.policy));
  }
  if (!(rule.renew_fraction > 0 && rule.renew_fraction < 1)) {
    return InvalidArgument("--renew-fraction must be between 0 and 1 (exclusive)");
  }
  policy.renew_fraction = rule.renew_fraction;
  if (!rule.renew_before.empty()) {
    auto d = ParseDuration(rule.renew_before);
    if (!d.ok()) return InvalidArgument("--renew-before: " + d.status().message());
    policy.renew_before = *d;
  }
  return policy;
}

// ItemStatus: a certificate's CertStatus, or what the other types are.
std::string ItemStatus(const InventoryItem& it, Instant now, const RenewalPolicy& policy) {
  switch (it.type) {
    case ItemType::kCertificate: return CertStatusName(Classify(it, now, policy));
    case ItemType::kPrivateKey: return it.encrypted ? "encrypted" : "ok";
    case ItemType::kCsr: return "ok";
    case ItemType::kOther: return "skipped";
    case ItemType::kError: return "error";
  }
  return "error";
}

Json ItemJson(const InventoryItem& it, Instant now, const RenewalPolicy& policy) {
  Json j;
  j["file"] = it.file;
  j["position"] = it.position;
  j["line"] = it.line;
  j["type"] = ItemTypeName(it.type);
  j["status"] = ItemStatus(it, now, policy);
  j["error"] = it.error.empty() ? Json(nullptr) : Json(it.error);
  j["warnings"] = it.warnings;
  if (!it.format.empty()) j["format"] = it.format;
  if (!it.label.empty()) j["label"] = it.label;
  if (it.type == ItemType::kCertificate || it.type == ItemType::kCsr) j["subject"] = it.subject;
  if (it.type == ItemType::kCertificate) {
    j["issuer"] = it.issuer;
    j["serial"] = it.serial;
    j["not_before"] = FormatRfc3339Seconds(it.not_before);
    j["not_after"] = FormatRfc3339Seconds(it.not_after);
    j["is_ca"] = it.is_ca;
    j["self_signed"] = it.self_signed;
    j["dns_names"] = it.dns_names;
    j["key_present"] = !it.key_location.empty();
    j["key_location"] = it.key_location.empty() ? Json(nullptr) : Json(it.key_location);
    j["issuer_fingerprint"] = it.issuer_fingerprint.empty() ? Json(nullptr) : Json(it.issuer_fingerprint);
  }
  if (it.type == ItemType::kPrivateKey) {
    j["key_format"] = it.key_format;
    j["encrypted"] = it.encrypted;
    j["certificate_fingerprint"] =
        it.certificate_fingerprint.empty() ? Json(nullptr) : Json(it.certificate_fingerprint);
  }
  if (!it.key_type.empty()) j["key_type"] = it.key_type;
  if (!it.fingerprint.empty()) j["fingerprint"] = it.fingerprint;
  if (!it.public_key_id.empty()) j["public_key_id"] = it.public_key_id;
  return j;
}

std::string Where(const InventoryItem& it) {
  std::string w = it.file;
  if (it.position > 0) w += ":" + std::to_string(it.position);
  if (it.line > 0) w += " (line " + std::to_string(it.line) + ")";
  return w;
}

std::string Truncated(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

void CsvField(const std::string& s, std::string* out) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    *out += s;
    return;
  }
  *out += '"';
  for (char c : s) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}

// Order for reports: certificates by expiry (then file order), then keys,
// CSRs and the rest in file order.
void SortForReport(std::vector<InventoryItem>* items) {
  std::stable_sort(items->begin(), items->end(), [](const InventoryItem& a, const InventoryItem& b) {
    const bool ac = a.type == ItemType::kCertificate, bc = b.type == ItemType::kCertificate;
    if (ac != bc) return ac;
    if (ac) return a.not_after < b.not_after;
    return static_cast<int>(a.type) < static_cast<int>(b.type);
  });
}

}  // namespace

std::vector<InventoryItem> ScanPaths(const std::vector<std::string>& paths, bool recursive) {
  Walk walk;
  walk.recursive = recursive;
  for (const auto& path : paths) WalkPath(path, true, &walk);
  LinkInventory(&walk.items);
  return std::move(walk.items);
}

std::vector<InventoryItem> ScanPathsWithDer(const std::vector<std::string>& paths, bool recursive,
                                            std::vector<SecretBytes>* ders) {
  Walk walk;
  walk.recursive = recursive;
  walk.ders = ders;
  for (const auto& path : paths) WalkPath(path, true, &walk);
  LinkInventory(&walk.items);
  return std::move(walk.items);
}

int RunImport(const ImportOptions& opt) {
  if (opt.adopt) return RunAdopt(opt);
  if (opt.dry_run || !opt.adopt_ids.empty() || !opt.id_prefix.empty()) {
    std::fprintf(stderr, "rotor: --dry-run, --id and --id-prefix go with --adopt\n");
    return kExitUsage;
  }
  auto policy = PolicyOf(opt.due);
  if (!policy.ok()) {
    std::fprintf(stderr, "rotor: %s\n", policy.status().message().c_str());
    return kExitUsage;
  }
  auto store = LmdbInventoryStore::Open(opt.data_dir, /*create=*/true);
  if (!store.ok()) {
    std::fprintf(stderr, "rotor: %s\n", store.status().message().c_str());
    return kExitDataDir;
  }
  std::vector<InventoryItem> items = ScanPaths(opt.paths, opt.recursive);
  const Instant now = SystemClock().Now();

  // One entry per credential: the first place it was found in this run.
  std::vector<InventoryItem> to_store;
  std::set<std::string> keys;
  std::map<std::string, size_t> counts;
  size_t errors = 0, warnings = 0, duplicates = 0;
  for (const auto& it : items) {
    ++counts[ItemTypeName(it.type)];
    if (it.type == ItemType::kError) ++errors;
    warnings += it.warnings.size();
    if (it.type == ItemType::kError || it.type == ItemType::kOther) continue;
    if (keys.insert(InventoryKey(it)).second) {
      to_store.push_back(it);
    } else {
      ++duplicates;
    }
  }
  // ROTOR_CRASH_AT=import:commit dies inside the write transaction, for the
  // test that proves an import is all or nothing.
  const char* crash = std::getenv("ROTOR_CRASH_AT");
  if (crash != nullptr && std::string(crash) == "import:commit") {
    (*store)->SetBeforeCommit([] { ::_exit(kCrashExitCode); });
  }
  Status put = (*store)->Put(to_store);

  if (opt.json) {
    Json list = Json::array();
    for (const auto& it : items) list.push_back(ItemJson(it, now, *policy));
    std::printf("%s\n", list.dump(2).c_str());
  } else {
    for (const auto& it : items) {
      const std::string status = ItemStatus(it, now, *policy);
      if (it.type == ItemType::kError) {
        std::printf("%-13s %s: %s\n", "ERROR", Where(it).c_str(), it.error.c_str());
      } else if (it.type == ItemType::kCertificate) {
        std::printf("%-13s %s: certificate %s, serial %s, expires %s%s%s%s\n", status.c_str(), Where(it).c_str(),
                    it.subject.c_str(), it.serial.c_str(), FormatRfc3339Seconds(it.not_after).c_str(),
                    it.is_ca ? ", CA" : "", it.self_signed ? ", self-signed" : "",
                    it.key_location.empty() ? "" : (", key at " + it.key_location).c_str());
      } else if (it.type == ItemType::kPrivateKey) {
        std::printf("%-13s %s: private key %s (%s)%s\n", status.c_str(), Where(it).c_str(),
                    it.encrypted ? "(encrypted)" : it.key_type.c_str(), it.key_format.c_str(),
                    it.encrypted                         ? ""
                    : it.certificate_fingerprint.empty() ? ", no certificate of this key"
                                                         : ", matches a certificate");
      } else if (it.type == ItemType::kCsr) {
        std::printf("%-13s %s: certificate request %s (%s)\n", status.c_str(), Where(it).c_str(), it.subject.c_str(),
                    it.key_type.c_str());
      } else {
        std::printf("%-13s %s: %s block not imported\n", status.c_str(), Where(it).c_str(), it.label.c_str());
      }
      for (const auto& w : it.warnings) std::printf("%-13s   warning: %s\n", "", w.c_str());
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr,
               "rotor: %zu certificates, %zu private keys, %zu CSRs, %zu skipped, %zu errors, %zu warnings; "
               "%zu duplicates\n",
               counts["certificate"], counts["private_key"], counts["csr"], counts["other"], errors, warnings,
               duplicates);
  if (!put.ok()) {
    std::fprintf(stderr, "rotor: nothing stored: %s\n", put.message().c_str());
    return kExitDataDir;
  }
  std::fprintf(stderr, "rotor: stored %zu entries in %s/inventory\n", to_store.size(), opt.data_dir.c_str());
  return errors == 0 ? kExitOk : kExitFailure;
}

int RunInventory(const InventoryOptions& opt) {
  auto policy = PolicyOf(opt.due);
  if (!policy.ok()) {
    std::fprintf(stderr, "rotor: %s\n", policy.status().message().c_str());
    return kExitUsage;
  }
  if (opt.json && opt.csv) {
    std::fprintf(stderr, "rotor: --json and --csv exclude each other\n");
    return kExitUsage;
  }
  if (!opt.fail_on.empty() && opt.fail_on != "expired" && opt.fail_on != "due") {
    std::fprintf(stderr, "rotor: --fail-on must be \"expired\" or \"due\", not \"%s\"\n", opt.fail_on.c_str());
    return kExitUsage;
  }
  std::optional<Duration> within;
  if (!opt.expiring_within.empty()) {
    auto d = ParseDuration(opt.expiring_within);
    if (!d.ok()) {
      std::fprintf(stderr, "rotor: --expiring-within: %s\n", d.status().message().c_str());
      return kExitUsage;
    }
    within = *d;
  }
  std::string serial;
  if (!opt.serial.empty()) {
    auto s = ParseSerial(opt.serial);
    if (!s.ok()) {
      std::fprintf(stderr, "rotor: --serial: %s\n", s.status().message().c_str());
      return kExitUsage;
    }
    serial = *s;
  }
  auto store = LmdbInventoryStore::Open(opt.data_dir, /*create=*/false);
  if (!store.ok()) {
    std::fprintf(stderr, "rotor: %s\n", store.status().message().c_str());
    return kExitDataDir;
  }
  std::vector<InventoryItem> all;
  Status read = (*store)->ForEach([&](const InventoryItem& it) {
    all.push_back(it);
    return true;
  });
  if (!read.ok()) {
    std::fprintf(stderr, "rotor: %s\n", read.message().c_str());
    return kExitDataDir;
  }
  LinkInventory(&all);
  const Instant now = SystemClock().Now();
  std::vector<InventoryItem> shown;
  for (auto& it : all) {
    if (!serial.empty() && (it.type != ItemType::kCertificate || it.serial != serial)) continue;
    if (within && (it.type != ItemType::kCertificate || it.not_after > now + *within)) continue;
    shown.push_back(std::move(it));
  }
  SortForReport(&shown);

  std::map<std::string, size_t> by_status;
  size_t keys = 0, keys_matched = 0, keys_encrypted = 0, csrs = 0;
  bool fail = false;
  for (const auto& it : shown) {
    if (it.type == ItemType::kCertificate) {
      const CertStatus st = Classify(it, now, *policy);
      ++by_status[CertStatusName(st)];
      if (opt.fail_on == "expired" && st == CertStatus::kExpired) fail = true;
      if (opt.fail_on == "due" && (st == CertStatus::kExpired || st == CertStatus::kDue)) fail = true;
    } else if (it.type == ItemType::kPrivateKey) {
      ++keys;
      keys_matched += it.certificate_fingerprint.empty() ? 0 : 1;
      keys_encrypted += it.encrypted ? 1 : 0;
    } else if (it.type == ItemType::kCsr) {
      ++csrs;
    }
  }

  if (opt.json) {
    Json list = Json::array();
    for (const auto& it : shown) list.push_back(ItemJson(it, now, *policy));
    std::printf("%s\n", list.dump(2).c_str());
  } else if (opt.csv) {
    std::string out =
        "type,status,not_before,not_after,subject,issuer,serial,key_type,is_ca,self_signed,key_present,file,"
        "position\n";
    for (const auto& it : shown) {
      const bool cert = it.type == ItemType::kCertificate;
      const std::string fields[] = {ItemTypeName(it.type),
                                    ItemStatus(it, now, *policy),
                                    cert ? FormatRfc3339Seconds(it.not_before) : "",
                                    cert ? FormatRfc3339Seconds(it.not_after) : "",
                                    it.subject,
                                    it.issuer,
                                    it.serial,
                                    it.key_type,
                                    cert ? (it.is_ca ? "true" : "false") : "",
                                    cert ? (it.self_signed ? "true" : "false") : "",
                                    cert ? (it.key_location.empty() ? "false" : "true") : "",
                                    it.file,
                                    std::to_string(it.position)};
      for (size_t i = 0; i < std::size(fields); ++i) {
        if (i > 0) out += ',';
        CsvField(fields[i], &out);
      }
      out += '\n';
    }
    std::fputs(out.c_str(), stdout);
  } else {
    std::printf("%-13s %-20s %-4s %-3s %-40s %-20s %s\n", "STATUS", "NOT AFTER", "CA", "KEY", "SUBJECT", "SERIAL",
                "FILE");
    for (const auto& it : shown) {
      if (it.type != ItemType::kCertificate) continue;
      std::printf("%-13s %-20s %-4s %-3s %-40s %-20s %s\n", CertStatusName(Classify(it, now, *policy)),
                  FormatRfc3339Seconds(it.not_after).c_str(), it.is_ca ? "yes" : "no",
                  it.key_location.empty() ? "no" : "yes", Truncated(it.subject, 40).c_str(),
                  Truncated(it.serial, 20).c_str(), Where(it).c_str());
    }
    std::printf("\ncertificates:");
    size_t certs = 0;
    for (const char* st : {"valid", "due", "expired", "not_yet_valid"}) {
      std::printf(" %s %zu", st, by_status[st]);
      certs += by_status[st];
    }
    std::printf(" (total %zu)\n", certs);
    std::printf("private keys: %zu (%zu matched to a certificate, %zu encrypted); CSRs: %zu\n", keys, keys_matched,
                keys_encrypted, csrs);
  }
  return fail ? kExitFailure : kExitOk;
}

}  // namespace rotor::app
