#include "app/adopt.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "app/crash_hook.h"
#include "app/credential_stack.h"
#include "app/daemon.h"
#include "app/fleet_loader.h"
#include "app/log.h"
#include "app/reconcile.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/crypto/x509.h"
#include "connectors/embedded/lmdb_inventory_store.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "engine/audit.h"
#include "engine/ports/clock.h"

namespace rotor::app {
namespace {

using Json = nlohmann::ordered_json;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "rotor: %s\n", message.c_str());
  return code;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// An --id KEY=ID: KEY is a fingerprint ("sha256:...") or a serial as pasted.
struct IdOverride {
  std::string fingerprint;
  std::string serial;
  std::string id;
  std::string text;
  bool used = false;
};

StatusOr<std::vector<IdOverride>> ParseOverrides(const std::vector<std::string>& flags) {
  std::vector<IdOverride> out;
  for (const auto& f : flags) {
    const size_t eq = f.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
      return InvalidArgument("--id " + f + ": expected SERIAL=ID or sha256:FINGERPRINT=ID");
    }
    IdOverride o;
    o.text = f;
    o.id = f.substr(eq + 1);
    const std::string key = f.substr(0, eq);
    if (!ValidIdentityId(o.id)) {
      return InvalidArgument("--id " + f + ": \"" + o.id +
                             "\" is not a valid identity id (1-200 of A-Z a-z 0-9 . _ -)");
    }
    if (key.rfind("sha256:", 0) == 0) {
      o.fingerprint = key;
    } else {
      auto serial = ParseSerial(key);
      if (!serial.ok()) return InvalidArgument("--id " + f + ": " + serial.status().message());
      o.serial = *serial;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string Where(const InventoryItem& it) {
  return it.file + ":" + std::to_string(it.position);
}

// The files of generation 1: the imported certificate byte for byte, the
// chain found beside it (issuers that are not self-signed), and the key as
// PKCS#8.
struct FirstVersion {
  Material files;
  std::string error;
  std::string warning;
};

FirstVersion BuildFirstVersion(size_t cert_index, size_t key_index, const std::vector<InventoryItem>& items,
                               const std::vector<SecretBytes>& ders,
                               const std::map<std::string, size_t>& cert_by_fingerprint) {
  FirstVersion v;
  const InventoryItem& key_item = items[key_index];
  auto key = x509::ParsePrivateKeyDerAs(key_item.key_format, ders[key_index].view());
  if (!key.ok()) {
    v.error = "its private key at " + Where(key_item) + " cannot be read: " + key.status().message();
    return v;
  }
  SecretBytes key_pem = x509::PrivateKeyPem(key->get());
  if (key_pem.empty()) {
    v.error = "its private key at " + Where(key_item) + " cannot be encoded as PKCS#8";
    return v;
  }
  // The chain: the intermediates found, up to the root, which is left out
  // (relying parties have it) unless it issued the certificate itself.
  std::string chain;
  const InventoryItem* at = &items[cert_index];
  for (int depth = 0; depth < 8 && !at->issuer_fingerprint.empty() && at->issuer_fingerprint != at->fingerprint;
       ++depth) {
    auto issuer = cert_by_fingerprint.find(at->issuer_fingerprint);
    if (issuer == cert_by_fingerprint.end()) break;
    at = &items[issuer->second];
    if (at->self_signed && depth > 0) break;
    chain += x509::CertificateDerPem(ders[issuer->second].view());
    if (at->self_signed) break;
  }
  v.files.push_back(MaterialFile{"cert.pem", SecretBytes(x509::CertificateDerPem(ders[cert_index].view()))});
  if (chain.empty()) {
    v.warning = "its issuer is not among the files read: generation 1 has no chain.pem";
  } else {
    v.files.push_back(MaterialFile{"chain.pem", SecretBytes(std::move(chain))});
  }
  v.files.push_back(MaterialFile{"key.pem", std::move(key_pem)});
  return v;
}

// StoreInventory imports everything read into the inventory, as `rotor
// import` does (one entry per credential).
Status StoreInventory(const std::string& data_dir, const std::vector<InventoryItem>& items) {
  auto inventory = LmdbInventoryStore::Open(data_dir, /*create=*/true);
  if (!inventory.ok()) return inventory.status();
  std::vector<InventoryItem> to_store;
  std::set<std::string> keys;
  for (const auto& it : items) {
    if (it.type == ItemType::kError || it.type == ItemType::kOther) continue;
    if (keys.insert(InventoryKey(it)).second) to_store.push_back(it);
  }
  return (*inventory)->Put(to_store);
}

}  // namespace

StatusOr<std::vector<AdoptedIdentity>> LoadAdopted(StateStore& store) {
  std::vector<AdoptedIdentity> adopted;
  ROTOR_RETURN_IF_ERROR(store.ForEachAdopted([&](const AdoptedIdentity& a) {
    adopted.push_back(a);
    return true;
  }));
  return adopted;
}

StatusOr<FleetSpec> LoadFleetWithAdopted(const std::string& config, StateStore& store, Instant now,
                                         std::vector<std::string>* warnings) {
  ROTOR_ASSIGN_OR_RETURN(FleetSpec fleet, LoadFleetFile(config, now));
  ROTOR_ASSIGN_OR_RETURN(std::vector<AdoptedIdentity> adopted, LoadAdopted(store));
  ROTOR_RETURN_IF_ERROR(MergeAdopted(adopted, &fleet, warnings));
  return fleet;
}

int RunAdopt(const ImportOptions& opt) {
  const std::string& dir = opt.data_dir;
  if (opt.due.config.empty() || opt.due.policy.empty()) {
    return Fail(kExitUsage,
                "--adopt needs --config FILE and --policy NAME: the fleet policy the adopted identities follow");
  }
  const Instant now = SystemClock().Now();
  auto fleet = LoadFleetFile(opt.due.config, now);
  if (!fleet.ok()) return Fail(kExitUsage, fleet.status().message());
  const RenewalPolicy* policy = FindPolicy(*fleet, opt.due.policy);
  if (policy == nullptr) {
    return Fail(kExitUsage, UnknownPolicyMessage(*fleet, opt.due.config, opt.due.policy));
  }
  KeyType fallback = KeyType::kEd25519;
  for (const auto& g : fleet->groups) {
    if (g.kind == CredentialKind::kX509 && g.policy.name == opt.due.policy) {
      fallback = g.certificate.key_type;
      break;
    }
  }
  auto overrides = ParseOverrides(opt.adopt_ids);
  if (!overrides.ok()) return Fail(kExitUsage, overrides.status().message());
  if (!opt.id_prefix.empty() && !ValidIdentityId(opt.id_prefix + "x")) {
    return Fail(kExitUsage, "--id-prefix \"" + opt.id_prefix + "\" cannot start an identity id");
  }

  // The store: the real run takes the data directory's lock, so it refuses
  // while a daemon runs; a dry run only reads (beside a daemon, too).
  std::unique_ptr<LmdbStateStore> store;
  const bool daemon_running = LmdbStateStore::IsLocked(dir);
  if (!opt.dry_run) {
    if (daemon_running) {
      return Fail(kExitDataDir, "a rotor daemon holds " + dir +
                                    ": adoption writes the store and out/ directly, so stop the daemon, adopt, "
                                    "and start it again (try --dry-run meanwhile)");
    }
    auto opened = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadWrite);
    if (!opened.ok()) return Fail(kExitDataDir, opened.status().message());
    store = std::move(opened).value();
  } else if (Exists(dir + "/store/data.mdb")) {
    auto opened = LmdbStateStore::Open(dir, LmdbStateStore::OpenMode::kReadOnly);
    if (!opened.ok()) return Fail(kExitDataDir, opened.status().message());
    store = std::move(opened).value();
  }

  AdoptionContext ctx;
  ctx.id_prefix = opt.id_prefix;
  ctx.fallback_key_type = fallback;
  ctx.policy = *policy;
  ctx.now = now;
  ctx.fleet = &*fleet;
  std::vector<AdoptedIdentity> adopted_before;
  Status lookup_error;
  if (store) {
    ctx.existing = [&](const std::string& id) -> std::optional<std::string> {
      auto r = store->Get(id);
      if (r.ok()) return r->group;
      if (r.status().code() != StatusCode::kNotFound && lookup_error.ok()) lookup_error = r.status();
      return std::nullopt;
    };
    auto before = LoadAdopted(*store);
    if (!before.ok()) return Fail(kExitDataDir, before.status().message());
    adopted_before = std::move(before).value();
    for (const auto& a : adopted_before) ctx.adopted_by_fp.emplace(a.imported_fingerprint, a.id);
  }

  // Read every path; pair each certificate with its key.
  std::vector<SecretBytes> ders;
  std::vector<InventoryItem> items = ScanPathsWithDer(opt.paths, opt.recursive, &ders);
  std::map<std::string, size_t> key_by_public_key, cert_by_fingerprint;
  std::set<std::string> encrypted_keys;  // public key ids are unknown for those: any counts
  size_t read_errors = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const InventoryItem& it = items[i];
    if (it.type == ItemType::kError) ++read_errors;
    if (it.type == ItemType::kPrivateKey && !it.encrypted && !ders[i].empty()) {
      key_by_public_key.emplace(it.public_key_id, i);
    }
    if (it.type == ItemType::kPrivateKey && it.encrypted) encrypted_keys.insert(it.file);
    if (it.type == ItemType::kCertificate && !ders[i].empty()) cert_by_fingerprint.emplace(it.fingerprint, i);
  }
  std::vector<AdoptionCandidate> candidates;
  std::vector<size_t> cert_index;
  for (size_t i = 0; i < items.size(); ++i) {
    const InventoryItem& it = items[i];
    if (it.type != ItemType::kCertificate) continue;
    AdoptionCandidate c;
    c.cert = it;
    auto parsed = x509::ParseCertificateDer(ders[i].view());
    if (!parsed.ok()) {
      c.unreadable = parsed.status().message();
    } else if (auto fields = x509::ReadImportedCertificate(parsed->get()); !fields.ok()) {
      c.unreadable = fields.status().message();
    } else {
      c.fields = *std::move(fields);
    }
    c.key_found = key_by_public_key.count(it.public_key_id) > 0;
    c.encrypted_key_only = !c.key_found && !encrypted_keys.empty();
    for (auto& o : *overrides) {
      if ((!o.fingerprint.empty() && o.fingerprint == it.fingerprint) || (!o.serial.empty() && o.serial == it.serial)) {
        c.id_override = o.id;
        o.used = true;
      }
    }
    candidates.push_back(std::move(c));
    cert_index.push_back(i);
  }
  std::vector<AdoptionOutcome> plan = PlanAdoption(candidates, ctx);
  if (!lookup_error.ok()) return Fail(kExitDataDir, lookup_error.message());

  // Generation 1 of each identity to adopt; a key that does not read refuses it.
  std::vector<FirstVersion> first(plan.size());
  for (size_t k = 0; k < plan.size(); ++k) {
    if (plan[k].action != AdoptionAction::kAdopt) continue;
    first[k] = BuildFirstVersion(cert_index[k], key_by_public_key.at(candidates[k].cert.public_key_id), items, ders,
                                 cert_by_fingerprint);
    if (!first[k].error.empty()) {
      plan[k].action = AdoptionAction::kRefuse;
      plan[k].reason = first[k].error;
    } else if (!first[k].warning.empty()) {
      plan[k].warnings.push_back(first[k].warning);
    }
  }
  ders.clear();

  size_t adopt = 0, skipped = 0, refused = 0, expired = 0;
  for (const auto& o : plan) {
    if (o.action == AdoptionAction::kAdopt) {
      ++adopt;
      if (o.status == CertStatus::kExpired) ++expired;
    } else if (o.action == AdoptionAction::kSkip) {
      ++skipped;
    } else {
      ++refused;
    }
  }

  // What would happen, or happens: one line (or object) per certificate.
  auto renew_at = [&](size_t k) {
    const InventoryItem& c = candidates[k].cert;
    const Instant issued = std::min(c.not_before, now);
    return RenewalPoint(*policy, plan[k].id, issued < c.not_after ? issued : c.not_after - Duration{1}, c.not_after);
  };
  if (opt.json) {
    Json list = Json::array();
    for (size_t k = 0; k < plan.size(); ++k) {
      const InventoryItem& c = candidates[k].cert;
      const AdoptionOutcome& o = plan[k];
      Json j;
      j["file"] = c.file;
      j["position"] = c.position;
      j["subject"] = c.subject;
      j["serial"] = c.serial;
      j["fingerprint"] = c.fingerprint;
      j["status"] = CertStatusName(o.status);
      j["not_after"] = FormatRfc3339Seconds(c.not_after);
      j["action"] = AdoptionActionName(o.action);
      j["id"] = o.id.empty() ? Json(nullptr) : Json(o.id);
      j["reason"] = o.reason.empty() ? Json(nullptr) : Json(o.reason);
      j["warnings"] = o.warnings;
      j["key_type"] = c.key_type;
      if (o.action == AdoptionAction::kAdopt) {
        j["reissue_key_type"] = KeyTypeName(o.profile.key_type);
        j["renew_at"] = FormatRfc3339Seconds(renew_at(k));
      }
      list.push_back(std::move(j));
    }
    std::printf("%s\n", list.dump(2).c_str());
  } else {
    for (size_t k = 0; k < plan.size(); ++k) {
      const InventoryItem& c = candidates[k].cert;
      const AdoptionOutcome& o = plan[k];
      if (o.action == AdoptionAction::kAdopt) {
        std::string when;
        if (o.status == CertStatus::kExpired) {
          when = "EXPIRED " + FormatRfc3339Seconds(c.not_after) + ": re-issued as soon as the daemon runs";
        } else if (renew_at(k) <= now) {
          when = "due: re-issued as soon as the daemon runs";
        } else {
          when = "re-issued at " + FormatRfc3339Seconds(renew_at(k));
        }
        std::printf("%-8s %s <- %s: %s, %s key (re-issued %s), expires %s; %s\n", "ADOPT", o.id.c_str(),
                    Where(c).c_str(), c.subject.c_str(), c.key_type.c_str(), KeyTypeName(o.profile.key_type),
                    FormatRfc3339Seconds(c.not_after).c_str(), when.c_str());
      } else {
        std::printf("%-8s %s: %s: %s\n", o.action == AdoptionAction::kSkip ? "SKIP" : "REFUSE", Where(c).c_str(),
                    c.subject.c_str(), o.reason.c_str());
      }
      for (const auto& w : o.warnings) std::printf("%-8s   warning: %s\n", "", w.c_str());
    }
  }
  std::fflush(stdout);
  for (const auto& o : *overrides) {
    if (!o.used) std::fprintf(stderr, "rotor: warning: --id %s matched no certificate read\n", o.text.c_str());
  }
  if (read_errors > 0) {
    // Named one by one: a mistyped path must not pass for "nothing to adopt".
    for (const InventoryItem& it : items) {
      if (it.type == ItemType::kError) std::fprintf(stderr, "rotor: %s: %s\n", Where(it).c_str(), it.error.c_str());
    }
    std::fprintf(stderr, "rotor: %zu items could not be read\n", read_errors);
  }
  const std::string counts = std::to_string(adopt) + " to adopt (" + std::to_string(expired) + " expired), " +
                             std::to_string(skipped) + " skipped, " + std::to_string(refused) + " refused";
  const std::string trust_note =
      "the first rotation of each adopted identity is signed by rotor's CA: give relying parties its trust "
      "anchor " +
      dir + "/ca/ca.pem (or the bundle " + dir + "/ca/bundle.pem) before the daemon runs, and point consumers at " +
      dir + "/out/<id>/current/";
  const int code = refused > 0 || read_errors > 0 ? kExitFailure : kExitOk;
  if (opt.dry_run) {
    std::fprintf(stderr, "rotor: dry run: %s; nothing was changed\n", counts.c_str());
    if (daemon_running) {
      std::fprintf(stderr, "rotor: a daemon holds %s: stop it before adopting for real\n", dir.c_str());
    }
    if (adopt > 0) std::fprintf(stderr, "rotor: %s\n", trust_note.c_str());
    return code;
  }
  if (Status inv = StoreInventory(dir, items); !inv.ok()) {
    return Fail(kExitDataDir, "nothing adopted: the inventory cannot be written: " + inv.message());
  }
  if (adopt == 0) {
    std::fprintf(stderr, "rotor: %s; nothing adopted\n", counts.c_str());
    return code;
  }

  // The merged fleet (what the daemon will load) makes sure the CA exists:
  // relying parties need its anchor before the first re-issue.
  FleetSpec merged = *fleet;
  std::vector<AdoptedIdentity> all_adopted = adopted_before;
  std::vector<AdoptedIdentity> fresh;
  for (size_t k = 0; k < plan.size(); ++k) {
    if (plan[k].action != AdoptionAction::kAdopt) continue;
    const InventoryItem& c = candidates[k].cert;
    AdoptedIdentity a;
    a.id = plan[k].id;
    a.policy_name = opt.due.policy;
    a.policy = *policy;
    a.profile = plan[k].profile;
    a.source = Where(c);
    a.imported_fingerprint = c.fingerprint;
    a.imported_serial = c.serial;
    a.adopted_at = now;
    fresh.push_back(a);
    all_adopted.push_back(std::move(a));
  }
  std::vector<std::string> merge_warnings;
  if (Status merged_ok = MergeAdopted(all_adopted, &merged, &merge_warnings); !merged_ok.ok()) {
    return Fail(kExitUsage, merged_ok.message());
  }
  CredentialStack::Options cred_opts;
  cred_opts.data_dir = dir;
  cred_opts.config_dir = ConfigDir(opt.due.config);
  cred_opts.fleet = &merged;
  auto creds = CredentialStack::Open(cred_opts);
  if (!creds.ok()) return Fail(kExitDataDir, creds.status().message());
  FileDeliverySink* out = (*creds)->out();

  // Generation 1 on disk first: out/<id>/versions/1 and current. A stray
  // version of an id the store does not know (an adoption that died before
  // its commit) is removed first.
  std::vector<DeliverySink::DeliverItem> deliver;
  std::vector<DeliverySink::ActivateItem> activate;
  std::vector<DeliverySink::DiscardItem> undo;
  std::vector<size_t> index;
  for (size_t k = 0; k < plan.size(); ++k) {
    if (plan[k].action != AdoptionAction::kAdopt) continue;
    auto stray = out->ListGenerations(plan[k].id);
    if (stray.ok() && !stray->empty()) {
      std::vector<DeliverySink::DiscardItem> remove;
      for (uint64_t g : *stray) remove.push_back({plan[k].id, g, 0});
      for (const Status& s : out->Discard(remove)) {
        if (!s.ok())
          return Fail(kExitFailure, "nothing adopted: removing a stray out/" + plan[k].id + ": " + s.message());
      }
    }
    deliver.push_back({plan[k].id, 1, &first[k].files});
    activate.push_back({plan[k].id, 1});
    undo.push_back({plan[k].id, 1, 0});
    index.push_back(k);
  }
  auto roll_back = [&](const std::string& why) {
    (void)out->Discard(undo);
    return Fail(kExitFailure, "nothing adopted: " + why);
  };
  auto delivered = out->Deliver(deliver);
  for (size_t i = 0; i < delivered.size(); ++i) {
    if (!delivered[i].ok()) return roll_back("writing out/" + deliver[i].id + ": " + delivered[i].message());
  }
  auto activated = out->Activate(activate);
  for (size_t i = 0; i < activated.size(); ++i) {
    if (!activated[i].ok()) return roll_back("switching out/" + activate[i].id + "/current: " + activated[i].message());
  }

  // Then the store, in one transaction: records, declarations and events.
  BoringHasher hasher;
  const std::string source = "/rotor/" + NodeName();
  std::vector<StoreWrite> writes;
  for (size_t i = 0; i < fresh.size(); ++i) {
    const InventoryItem& c = candidates[index[i]].cert;
    AdoptedStart start = AdoptedRecord(fresh[i], c.not_before, c.not_after, now);
    std::string line = ChainAuditEvent(hasher, start.audit, now, source, &start.record);
    writes.push_back(StoreWrite{std::move(start.record), std::move(line), fresh[i]});
  }
  // ROTOR_CRASH_AT=adopt:commit dies with generation 1 on disk and nothing in
  // the store, for the test that proves a crash adopts nothing.
  const char* crash = std::getenv("ROTOR_CRASH_AT");
  if (crash != nullptr && std::string(crash) == "adopt:commit") ::_exit(kCrashExitCode);
  if (Status committed = store->Commit(writes); !committed.ok()) return roll_back(committed.message());

  for (size_t i = 0; i < fresh.size(); ++i) {
    const InventoryItem& c = candidates[index[i]].cert;
    if (plan[index[i]].status != CertStatus::kExpired) continue;
    LogWarn(
        "adopted certificate has already expired: it is re-issued as soon as the daemon runs (overdue, within "
        "--issuer-rate)",
        {{"id", fresh[i].id}, {"source", fresh[i].source}, {"not_after", FormatRfc3339Seconds(c.not_after)}});
  }
  for (const auto& w : merge_warnings) std::fprintf(stderr, "rotor: warning: %s\n", w.c_str());
  std::fprintf(stderr, "rotor: adopted %zu under policy %s (%zu expired), %zu skipped, %zu refused\n", adopt,
               opt.due.policy.c_str(), expired, skipped, refused);
  if (expired > 0) {
    std::fprintf(stderr,
                 "rotor: WARNING: %zu adopted certificate%s expired already; the daemon re-issues %s first, as "
                 "overdue\n",
                 expired, expired == 1 ? " has" : "s have", expired == 1 ? "it" : "them");
  }
  std::fprintf(stderr, "rotor: %s\n", trust_note.c_str());
  return code;
}

}  // namespace rotor::app
