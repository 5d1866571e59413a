#include "app/commands.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "app/control.h"
#include "app/daemon.h"
#include "app/fleet_loader.h"
#include "app/reconcile.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/sinks/journal_verify.h"
#include "engine/ports/clock.h"

namespace rotor::app {
namespace {

using Json = nlohmann::ordered_json;

// OpenReadOnly opens the store for reading, or prints why it cannot.
std::unique_ptr<LmdbStateStore> OpenReadOnly(const std::string& data_dir, int* exit_code) {
  auto store = LmdbStateStore::Open(data_dir, LmdbStateStore::OpenMode::kReadOnly);
  if (!store.ok()) {
    if (store.status().code() == StatusCode::kNotFound) {
      std::fprintf(stderr, "rotor: no store in %s (start one with `rotor run --config FILE --data-dir %s`)\n",
                   data_dir.c_str(), data_dir.c_str());
    } else {
      std::fprintf(stderr, "rotor: %s\n", store.status().message().c_str());
    }
    *exit_code = kExitDataDir;
    return nullptr;
  }
  return std::move(store).value();
}

Json RecordJson(const RotationRecord& r, Instant now) {
  Json j;
  j["id"] = r.id;
  j["group"] = r.group;
  j["kind"] = CredentialKindName(r.kind);
  j["phase"] = PhaseName(r.phase);
  j["health"] = HealthName(HealthAt(r, now));
  if (r.current) {
    j["current"] = {{"generation", r.current->generation},
                    {"issued_at", FormatRfc3339(r.current->issued_at)},
                    {"not_after", FormatRfc3339(r.current->not_after)},
                    {"fingerprint", r.current->fingerprint}};
  } else {
    j["current"] = nullptr;
  }
  if (r.pending) j["pending_generation"] = r.pending->generation;
  Json retiring = Json::array();
  for (const auto& rv : r.retiring) {
    retiring.push_back({{"generation", rv.version.generation},
                        {"retire_at", FormatRfc3339(rv.retire_at)},
                        {"compromised", rv.compromised}});
  }
  j["retiring"] = retiring;
  j["next_due"] = r.next_due < kMaxInstant ? Json(FormatRfc3339(r.next_due)) : Json(nullptr);
  j["consecutive_failures"] = r.consecutive_failures;
  j["last_error"] = r.last_error;
  j["audit_sequence"] = r.chain_seq;
  return j;
}

void PrintRecord(const RotationRecord& r, Instant now) {
  std::printf("%s\n", r.id.c_str());
  std::printf("  group      %s (%s)\n", r.group.c_str(), CredentialKindName(r.kind));
  std::printf("  phase      %s, %s\n", PhaseName(r.phase), HealthName(HealthAt(r, now)));
  if (r.current) {
    std::printf("  current    generation %llu, issued %s, expires %s\n",
                static_cast<unsigned long long>(r.current->generation), FormatRfc3339(r.current->issued_at).c_str(),
                FormatRfc3339(r.current->not_after).c_str());
    std::printf("             %s\n", r.current->fingerprint.c_str());
  } else {
    std::printf("  current    none\n");
  }
  if (r.pending) std::printf("  pending    generation %llu\n", static_cast<unsigned long long>(r.pending->generation));
  std::string why = r.phase == Phase::kBackoff ? " (next attempt)" : "";
  for (const auto& rv : r.retiring) {
    std::printf("  retiring   generation %llu at %s%s\n", static_cast<unsigned long long>(rv.version.generation),
                FormatRfc3339(rv.retire_at).c_str(), rv.compromised ? " (compromised)" : "");
    if (rv.retire_at == r.next_due && why.empty()) {
      why = " (end of the grace window of generation " + std::to_string(rv.version.generation) + ")";
    }
  }
  std::printf("  next due   %s%s\n", r.next_due < kMaxInstant ? FormatRfc3339(r.next_due).c_str() : "never",
              why.c_str());
  if (!r.last_error.empty()) std::printf("  last error %s\n", r.last_error.c_str());
  std::printf("  audit      %llu events\n", static_cast<unsigned long long>(r.chain_seq));
}

}  // namespace

int RunStatus(const StatusOptions& opt) {
  int code = kExitOk;
  auto store = OpenReadOnly(opt.data_dir, &code);
  if (!store) return code;
  const Instant now = SystemClock().Now();
  const bool daemon = LmdbStateStore::IsLocked(opt.data_dir);

  if (!opt.ids.empty()) {
    Json list = Json::array();
    int missing = 0;
    for (const auto& id : opt.ids) {
      auto r = store->Get(id);
      if (!r.ok()) {
        std::fprintf(stderr, "rotor: %s: %s\n", id.c_str(),
                     r.status().code() == StatusCode::kNotFound ? "no such identity" : r.status().message().c_str());
        missing++;
        continue;
      }
      if (opt.json) {
        list.push_back(RecordJson(*r, now));
      } else {
        PrintRecord(*r, now);
      }
    }
    if (opt.json) std::printf("%s\n", list.dump(2).c_str());
    return missing ? kExitFailure : kExitOk;
  }

  std::map<std::string, uint64_t> by_phase, by_health;
  uint64_t total = 0, rotating = 0, due = 0;
  RotationRecord earliest_expiry, next_due_rec;
  bool have_expiry = false, have_due = false;
  Json identities = Json::array();
  Status s = store->ForEach([&](const RotationRecord& r) {
    total++;
    by_phase[PhaseName(r.phase)]++;
    by_health[HealthName(HealthAt(r, now))]++;
    if (IsRotating(r.phase)) rotating++;
    if (IsResting(r.phase) && r.next_due <= now) due++;
    if (r.current && r.phase != Phase::kRetired &&
        (!have_expiry || r.current->not_after < earliest_expiry.current->not_after)) {
      earliest_expiry = r;
      have_expiry = true;
    }
    if (r.next_due < kMaxInstant && (!have_due || r.next_due < next_due_rec.next_due)) {
      next_due_rec = r;
      have_due = true;
    }
    if (opt.json) identities.push_back(RecordJson(r, now));
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "rotor: reading the store: %s\n", s.message().c_str());
    return kExitFailure;
  }
  // The running daemon's own view: is the disk short of the next rotation?
  bool disk_short = false;
  if (daemon) {
    ControlRequest stats;
    stats.op = "stats";
    auto reply = SendControlRequest(ControlSocketPath(opt.data_dir), stats, Duration::Seconds(2));
    if (reply.ok()) {
      auto it = reply->stats.find("disk_short");
      disk_short = it != reply->stats.end() && it->second != 0;
    }
  }
  if (opt.json) {
    Json j;
    j["data_dir"] = opt.data_dir;
    j["daemon_running"] = daemon;
    j["disk_short"] = disk_short;
    j["now"] = FormatRfc3339(now);
    j["identities"] = total;
    j["rotating"] = rotating;
    j["due"] = due;
    j["by_phase"] = by_phase;
    j["by_health"] = by_health;
    j["earliest_expiry"] =
        have_expiry
            ? Json({{"id", earliest_expiry.id}, {"not_after", FormatRfc3339(earliest_expiry.current->not_after)}})
            : Json(nullptr);
    j["next_due"] =
        have_due ? Json({{"id", next_due_rec.id}, {"at", FormatRfc3339(next_due_rec.next_due)}}) : Json(nullptr);
    j["records"] = identities;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("data dir    %s (%s)\n", opt.data_dir.c_str(), daemon ? "daemon running" : "no daemon running");
  std::printf("identities  %llu, rotating %llu, due %llu\n", static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(rotating), static_cast<unsigned long long>(due));
  std::string phases, health;
  for (const auto& [k, v] : by_phase) phases += (phases.empty() ? "" : ", ") + k + " " + std::to_string(v);
  for (const auto& [k, v] : by_health) health += (health.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("phases      %s\n", phases.empty() ? "-" : phases.c_str());
  std::printf("health      %s\n", health.empty() ? "-" : health.c_str());
  if (have_expiry) {
    std::printf("expires     first %s at %s\n", earliest_expiry.id.c_str(),
                FormatRfc3339(earliest_expiry.current->not_after).c_str());
  }
  if (have_due) {
    std::printf("next due    %s at %s\n", next_due_rec.id.c_str(), FormatRfc3339(next_due_rec.next_due).c_str());
  }
  if (disk_short) {
    std::printf("disk        SHORT: less free space than the next rotation of the fleet needs (the daemon logs it)\n");
  }
  return kExitOk;
}

namespace {

// Generation counters of every stored record, to tell later which identities
// have rotated since.
std::unordered_map<std::string, uint64_t> GenerationsNow(StateStore& store) {
  std::unordered_map<std::string, uint64_t> out;
  (void)store.ForEach([&](const RotationRecord& r) {
    out.emplace(r.id, r.next_generation);
    return true;
  });
  return out;
}

// WaitForRotations polls the store until each of `ids` has started a rotation
// since `before` (its next generation moved on) and come to rest again. Other
// identities rotating meanwhile (scheduled renewals) do not count. Returns
// how many of `ids` got there; `failed` counts those resting in back-off or
// quarantine.
uint64_t WaitForRotations(StateStore& store, const std::unordered_map<std::string, uint64_t>& before,
                          const std::vector<std::string>& ids, double timeout_s, uint64_t* failed) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::unordered_set<std::string> waiting(ids.begin(), ids.end());
  uint64_t done = 0;
  *failed = 0;
  while (true) {
    (void)store.ForEach([&](const RotationRecord& r) {
      auto w = waiting.find(r.id);
      if (w == waiting.end()) return true;
      auto it = before.find(r.id);
      const uint64_t g0 = it == before.end() ? 1 : it->second;
      if (r.next_generation > g0 && IsResting(r.phase)) {
        done++;
        if (r.phase == Phase::kBackoff || r.phase == Phase::kQuarantined) (*failed)++;
        waiting.erase(w);
      }
      return true;
    });
    if (waiting.empty() || std::chrono::steady_clock::now() >= deadline) return done;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// PrintRefusal prints "rotor: <id>: <why>", without the id twice when the
// reason already starts with it.
void PrintRefusal(const std::string& id, std::string why) {
  if (why.rfind(id + " ", 0) == 0) why = why.substr(id.size() + 1);
  std::fprintf(stderr, "rotor: %s: %s\n", id.c_str(), why.c_str());
}

}  // namespace

int RunOperator(const OperatorOptions& opt) {
  ControlRequest req;
  req.op = opt.verb;
  req.ids = opt.ids;
  req.all = opt.all;
  req.compromised = opt.verb == "revoke";
  if (!opt.selector.empty() && !ParseSelector(opt.selector, &req.selector_key, &req.selector_value)) {
    std::fprintf(stderr, "rotor: --selector \"%s\" is not of the form key=value\n", opt.selector.c_str());
    return kExitUsage;
  }
  for (const auto& id : opt.ids) {
    if (!ValidIdentityId(id)) {
      std::fprintf(stderr, "rotor: \"%s\" is not a valid identity id\n", id.c_str());
      return kExitUsage;
    }
  }

  const std::string socket = ControlSocketPath(opt.data_dir);
  std::unordered_map<std::string, uint64_t> before;
  std::unique_ptr<LmdbStateStore> reader;
  if (opt.wait) {
    int code = 0;
    reader = OpenReadOnly(opt.data_dir, &code);
    if (!reader) return code;
    before = GenerationsNow(*reader);
  }
  req.list_accepted = opt.wait;
  const auto sent = std::chrono::steady_clock::now();
  auto reply = SendControlRequest(socket, req, Duration::Seconds(300));
  if (reply.ok()) {
    // A fleet-wide command can be refused for thousands of identities: show a few.
    constexpr size_t kShownRefusals = 10;
    for (size_t i = 0; i < reply->refused.size() && i < kShownRefusals; ++i) {
      PrintRefusal(reply->refused[i].first, reply->refused[i].second);
    }
    if (reply->refused.size() > kShownRefusals) {
      std::fprintf(stderr, "rotor: ... and %zu more refused\n", reply->refused.size() - kShownRefusals);
    }
    std::printf("%s: %s\n", opt.verb.c_str(), reply->message.c_str());
    if (!reply->ok) return kExitFailure;
    if (opt.wait && reply->accepted > 0) {
      uint64_t failed = 0;
      const uint64_t done = WaitForRotations(*reader, before, reply->accepted_ids, opt.wait_timeout_s, &failed);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
      std::printf("%s: %llu of %llu rotations ended in %.2f s (%.0f rotations/s), %llu waiting to retry\n",
                  opt.verb.c_str(), static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(reply->accepted), secs, secs > 0 ? double(done) / secs : 0.0,
                  static_cast<unsigned long long>(failed));
      if (done < reply->accepted) return kExitFailure;
    }
    return reply->refused.empty() ? kExitOk : kExitFailure;
  }
  if (LmdbStateStore::IsLocked(opt.data_dir)) {
    std::fprintf(stderr, "rotor: a daemon holds %s but its control socket does not answer: %s\n", opt.data_dir.c_str(),
                 reply.status().message().c_str());
    return kExitFailure;
  }
  if (opt.wait) {
    std::fprintf(stderr, "rotor: --wait needs a running daemon (none answers at %s)\n", socket.c_str());
    return kExitFailure;
  }
  reader.reset();

  // No daemon: queue the command for the next start, in an existing store
  // only: a mistyped --data-dir must not become a new, empty one.
  {
    int code = 0;
    if (!OpenReadOnly(opt.data_dir, &code)) return code;
  }
  auto store_or = LmdbStateStore::Open(opt.data_dir, LmdbStateStore::OpenMode::kReadWrite);
  if (!store_or.ok()) {
    std::fprintf(stderr, "rotor: %s\n", store_or.status().message().c_str());
    return kExitDataDir;
  }
  auto& store = **store_or;
  const Instant now = SystemClock().Now();
  auto count = store.Count();
  for (const auto& id : opt.ids) {
    if (count.ok() && *count > 0) {
      auto r = store.Get(id);
      if (!r.ok() && r.status().code() == StatusCode::kNotFound) {
        std::fprintf(stderr, "rotor: %s: no such identity in %s\n", id.c_str(), opt.data_dir.c_str());
        return kExitFailure;
      }
    }
  }
  const bool by_selector = !req.selector_key.empty();
  const std::vector<QueuedCommand> queued = RequestToQueued(req, now);
  for (const auto& q : queued) {
    Status s = store.EnqueueCommand(q);
    if (!s.ok()) {
      std::fprintf(stderr, "rotor: queueing the command: %s\n", s.message().c_str());
      return kExitFailure;
    }
  }
  std::printf("%s: no daemon is running in %s; queued %zu command%s, executed at the next `rotor run`%s\n",
              opt.verb.c_str(), opt.data_dir.c_str(), queued.size(), queued.size() == 1 ? "" : "s",
              by_selector ? " (the selector is matched against the fleet file then)" : "");
  return kExitOk;
}

int RunAuditVerify(const std::string& data_dir, bool json) {
  int code = kExitOk;
  auto store = OpenReadOnly(data_dir, &code);
  if (!store) return code;
  BoringHasher hasher;
  auto report = VerifyJournal(data_dir, *store, hasher);
  if (!report.ok()) {
    std::fprintf(stderr, "rotor: audit verify could not run: %s\n", report.status().message().c_str());
    return kExitFailure;
  }
  if (json) {
    Json j{{"ok", report->ok},
           {"events", report->events},
           {"identities", report->identities},
           {"first_error", report->first_error}};
    std::printf("%s\n", j.dump().c_str());
  } else if (report->ok) {
    std::printf("audit verify: OK: %llu events, %llu identities, every chain intact and matching the store\n",
                static_cast<unsigned long long>(report->events), static_cast<unsigned long long>(report->identities));
  } else {
    std::printf("audit verify: FAILED: %s\n", report->first_error.c_str());
  }
  return report->ok ? kExitOk : kExitFailure;
}

int RunApply(const std::string& data_dir) {
  ControlRequest req;
  req.op = "reload";
  auto reply = SendControlRequest(ControlSocketPath(data_dir), req, Duration::Seconds(300));
  if (!reply.ok()) {
    std::fprintf(stderr, "rotor: no daemon answers in %s: %s\n(a daemon reads its fleet file when it starts)\n",
                 data_dir.c_str(), reply.status().message().c_str());
    return kExitFailure;
  }
  std::printf("apply: %s\n", reply->message.c_str());
  return reply->ok ? kExitOk : kExitFailure;
}

int RunValidate(const std::string& config) {
  auto fleet = LoadFleetFile(config, SystemClock().Now());
  if (!fleet.ok()) {
    std::fprintf(stderr, "rotor: %s\n", fleet.status().message().c_str());
    return kExitUsage;
  }
  size_t total = 0;
  for (const auto& g : fleet->groups) total += g.identities.size();
  std::printf("%s: OK: %zu group%s, %zu identit%s\n", config.c_str(), fleet->groups.size(),
              fleet->groups.size() == 1 ? "" : "s", total, total == 1 ? "y" : "ies");
  for (const auto& g : fleet->groups) {
    std::printf("  %-24s %8zu %-15s policy %s (lifetime %s)\n", g.name.c_str(), g.identities.size(),
                CredentialKindName(g.kind), g.policy.name.c_str(), FormatDuration(g.policy.lifetime).c_str());
  }
  return kExitOk;
}

}  // namespace rotor::app
