#include "app/check.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "app/credential_stack.h"
#include "app/daemon.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/sinks/journal_verify.h"
#include "engine/audit.h"
#include "engine/json.h"

namespace rotor::app {
namespace {

// What the audit trail says last about an identity's current version.
struct AuditView {
  uint64_t committed = 0;  // generation of the last rotation.committed
  bool retired = false;    // identity.retired came after it
};

void Absorb(std::string_view line, std::unordered_map<std::string, AuditView>* views) {
  auto ev = ParseJson(line);
  if (!ev.ok() || !ev->is_object()) return;  // cannot happen: the line passed the chain verifier
  const JsonValue* type = ev->Find("type");
  const JsonValue* subject = ev->Find("subject");
  const JsonValue* data = ev->Find("data");
  if (!type || !subject || !type->is_string() || !subject->is_string()) return;
  const std::string& t = type->as_string();
  AuditView& v = (*views)[subject->as_string()];
  if (t == std::string(kEventTypePrefix) + "rotation.committed" && data) {
    const JsonValue* g = data->Find("generation");
    if (g && g->is_int()) v.committed = static_cast<uint64_t>(g->as_int());
    v.retired = false;
  } else if (t == std::string(kEventTypePrefix) + "identity.adopted" && data) {
    // Generation 1 of an adopted identity is the imported certificate: current from its first event.
    const JsonValue* g = data->Find("generation");
    if (g && g->is_int()) v.committed = static_cast<uint64_t>(g->as_int());
    v.retired = false;
  } else if (t == std::string(kEventTypePrefix) + "identity.retired") {
    v.retired = true;
  } else if (t == std::string(kEventTypePrefix) + "identity.declared") {
    v.retired = false;
  }
}

}  // namespace

StatusOr<ConsistencyReport> CheckConsistency(const std::string& data_dir) {
  auto store_or = LmdbStateStore::Open(data_dir, LmdbStateStore::OpenMode::kReadOnly);
  if (!store_or.ok()) return store_or.status();
  auto& store = **store_or;
  // Read-only: no CA or KEK is created, and fingerprints need no key.
  auto stack = CredentialStack::OpenForReading(data_dir);
  if (!stack.ok()) return stack.status();
  DeliverySink& sink = *(*stack)->sink();
  BoringHasher hasher;

  // The audit trail as `rotor audit verify` reads it: the journal up to its
  // recorded position, then the outbox not drained yet.
  std::unordered_map<std::string, AuditView> audit;
  auto verified = VerifyJournal(data_dir, store, hasher, [&](std::string_view line) { Absorb(line, &audit); });
  if (!verified.ok()) return verified.status();

  ConsistencyReport report;
  auto problem = [&](const std::string& id, const std::string& what) {
    report.problem_count++;
    if (report.problems.size() < kMaxProblems) report.problems.push_back(id + ": " + what);
  };
  if (!verified->ok) problem("audit trail", verified->first_error + " (see `rotor audit verify`)");
  Status s = store.ForEach([&](const RotationRecord& r) {
    report.identities++;
    const bool in_flight = IsRotating(r.phase);
    if (in_flight) report.in_flight++;
    auto on_disk = sink.CurrentGeneration(r.id);
    if (!on_disk.ok()) {
      problem(r.id, "cannot read its current link: " + on_disk.status().message());
      return true;
    }
    const uint64_t want = r.current ? r.current->generation : 0;
    const bool pending_ok = r.phase == Phase::kCommitting && r.pending && *on_disk == r.pending->generation;
    if (*on_disk != want && !pending_ok && r.phase != Phase::kRetiring) {
      problem(r.id, "store says current generation " + std::to_string(want) + ", out/" + r.id + "/current points at " +
                        std::to_string(*on_disk));
    }
    if (r.current) {
      report.current++;
      auto material = sink.ReadBack(r.id, r.current->generation);
      if (!material.ok()) {
        problem(r.id, "current generation " + std::to_string(r.current->generation) +
                          " unreadable: " + material.status().message());
      } else if (auto fp = DeliveredFingerprint(r.kind, *material, hasher); !fp.ok()) {
        problem(r.id, "current generation " + std::to_string(r.current->generation) +
                          " does not parse: " + fp.status().message());
      } else if (*fp != r.current->fingerprint) {
        problem(r.id, "delivered material of generation " + std::to_string(r.current->generation) +
                          " does not match the recorded fingerprint");
      }
    }
    auto gens = sink.ListGenerations(r.id);
    if (gens.ok()) {
      std::set<uint64_t> known;
      if (r.current) known.insert(r.current->generation);
      if (r.pending) known.insert(r.pending->generation);
      for (const auto& rv : r.retiring) known.insert(rv.version.generation);
      for (uint64_t g : *gens) {
        // A rotation in flight or one that was rolled back may leave its
        // candidate behind until the next step; only at rest is it stray.
        if (!known.count(g) && !in_flight && r.phase != Phase::kBackoff) {
          problem(r.id, "generation " + std::to_string(g) + " is on disk but unknown to the store");
        }
      }
    }
    auto it = audit.find(r.id);
    const AuditView view = it == audit.end() ? AuditView{} : it->second;
    if (r.phase == Phase::kRetired) {
      if (!view.retired) problem(r.id, "retired in the store, but the audit trail does not say so");
    } else if (r.current && view.committed != r.current->generation) {
      problem(r.id, "store says current generation " + std::to_string(r.current->generation) +
                        ", the audit trail's last commit is generation " + std::to_string(view.committed));
    } else if (!r.current && view.committed != 0 && r.phase != Phase::kRetiring) {
      problem(r.id, "the audit trail commits generation " + std::to_string(view.committed) +
                        " but the store has no current version");
    }
    return true;
  });
  if (!s.ok()) return s;
  return report;
}

int RunCheck(const std::string& data_dir, bool json) {
  auto report = CheckConsistency(data_dir);
  if (!report.ok()) {
    std::fprintf(stderr, "rotor: check could not run: %s\n", report.status().message().c_str());
    return report.status().code() == StatusCode::kNotFound ? kExitDataDir : kExitFailure;
  }
  if (json) {
    nlohmann::ordered_json j{{"ok", report->ok()},
                             {"identities", report->identities},
                             {"current", report->current},
                             {"in_flight", report->in_flight},
                             {"problem_count", report->problem_count},
                             {"problems", report->problems}};
    std::printf("%s\n", j.dump().c_str());
  } else if (report->ok()) {
    std::printf("check: OK: %llu identities, %llu with a current version; store, out/ and audit trail agree%s\n",
                static_cast<unsigned long long>(report->identities), static_cast<unsigned long long>(report->current),
                report->in_flight ? " (some were mid-rotation)" : "");
  } else {
    std::printf("check: FAILED: %llu problems in %llu identities\n",
                static_cast<unsigned long long>(report->problem_count),
                static_cast<unsigned long long>(report->identities));
    for (const auto& p : report->problems) std::printf("  %s\n", p.c_str());
  }
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace rotor::app
