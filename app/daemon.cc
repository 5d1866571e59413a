#include "app/daemon.h"
#include "app/disk_estimate.h"

#include <algorithm>

#include "app/ca_bootstrap.h"
#include "app/credential_stack.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "actors/runtime.h"
#include "app/adopt.h"
#include "app/control.h"
#include "app/crash_hook.h"
#include "app/fleet_loader.h"
#include "app/journal_drainer.h"
#include "app/log.h"
#include "app/reconcile.h"
#include "app/relay_process.h"
#include "connectors/crypto/boring_hasher.h"
#include "connectors/embedded/lmdb_state_store.h"
#include "connectors/process/posix_command_runner.h"
#include "connectors/sinks/journal_sink.h"

namespace rotor::app {
namespace {

std::string PhaseCount(const RuntimeSnapshot& s, const char* phase) {
  auto it = s.by_phase.find(phase);
  return std::to_string(it == s.by_phase.end() ? 0 : it->second);
}

std::string ProgressLine(const RuntimeSnapshot& snap, const RuntimeCounters& c, Instant now) {
  std::string next = "-";
  if (snap.next_due < kMaxInstant) {
    Duration d = snap.next_due - now;
    next = d.micros <= 0 ? "now" : "in " + FormatDuration(Duration::Seconds((d.micros + 999999) / 1000000));
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "identities %llu | due %llu | rotating %llu | committed %llu | failed %llu | rolled back %llu | "
                "quarantined %s | next due %s",
                static_cast<unsigned long long>(snap.identities), static_cast<unsigned long long>(snap.due),
                static_cast<unsigned long long>(snap.active_actors),
                static_cast<unsigned long long>(c.rotations_committed.load()),
                static_cast<unsigned long long>(c.rotations_failed.load()),
                static_cast<unsigned long long>(c.rollbacks.load()), PhaseCount(snap, "quarantined").c_str(),
                next.c_str());
  return buf;
}

// Applies an operator request to the runtime; resolves selectors against the
// fleet. `disk_short` is the main loop's disk check, reported in stats.
ControlReply HandleControl(const ControlRequest& req, RotationRuntime& runtime, const FleetSpec& fleet,
                           bool disk_short) {
  ControlReply reply;
  if (req.op == "ping") {
    reply.message = "pong";
    return reply;
  }
  if (req.op == "stats") {
    const RuntimeSnapshot snap = runtime.Snapshot();
    const RuntimeCounters& c = runtime.counters();
    reply.stats = {{"identities", snap.identities},
                   {"rotating", snap.active_actors},
                   {"due", snap.due},
                   {"rotations_started", c.rotations_started.load()},
                   {"rotations_committed", c.rotations_committed.load()},
                   {"rotations_failed", c.rotations_failed.load()},
                   {"rollbacks", c.rollbacks.load()},
                   {"quarantined", c.quarantined.load()},
                   {"events_persisted", c.events_persisted.load()},
                   {"store_errors", c.store_errors.load()},
                   {"disk_short", disk_short ? 1u : 0u}};
    reply.message = "stats";
    return reply;
  }
  std::vector<std::string> targets = ResolveTargets(fleet, req.ids, req.selector_key, req.selector_value, req.all);
  if (targets.empty()) {
    reply.ok = false;
    reply.message = "no identity matches";
    return reply;
  }
  uint64_t in_flight = 0;  // rotate: a new credential is already on its way
  for (const auto& id : targets) {
    Status s = req.op == "revoke" ? runtime.Revoke(id) : runtime.Rotate(id);
    if (s.ok()) {
      reply.accepted++;
      if (req.list_accepted) reply.accepted_ids.push_back(id);
    } else if (req.op == "rotate" && s.code() == StatusCode::kUnavailable &&
               s.message().find(kAlreadyRotating) != std::string::npos) {
      in_flight++;
    } else {
      reply.refused.emplace_back(id, s.message());
    }
  }
  reply.ok = reply.refused.empty() || reply.accepted > 0;
  reply.message = std::to_string(reply.accepted) + " accepted, " +
                  (in_flight ? std::to_string(in_flight) + " already rotating, " : "") +
                  std::to_string(reply.refused.size()) + " refused";
  reply.stats = {{"accepted", reply.accepted}, {"already_rotating", in_flight}, {"refused", reply.refused.size()}};
  return reply;
}

}  // namespace

int RunDaemon(const DaemonOptions& opt) {
  SystemClock clock;
  // Block the signals we handle in every thread; the main thread waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto crash_hook = CrashHook::FromEnvironment();
  if (!crash_hook.ok()) {
    std::fprintf(stderr, "rotor: %s\n", crash_hook.status().message().c_str());
    return kExitUsage;
  }
  auto fleet_or = LoadFleetFile(opt.config, clock.Now());
  if (!fleet_or.ok()) {
    std::fprintf(stderr, "rotor: %s\n", fleet_or.status().message().c_str());
    return kExitUsage;
  }
  // Usage errors are found before the data directory is created.
  if (!opt.kafka_bootstrap.empty()) {
    Status checked = CheckRelaySettings(opt.kafka_settings);
    if (!checked.ok()) {
      std::fprintf(stderr, "rotor: --kafka: %s\n", checked.message().c_str());
      return kExitUsage;
    }
  }
  if (mkdir(opt.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "rotor: cannot create data directory %s: %s\n", opt.data_dir.c_str(), strerror(errno));
    return kExitDataDir;
  }
  auto store_or = LmdbStateStore::Open(opt.data_dir, LmdbStateStore::OpenMode::kReadWrite);
  if (!store_or.ok()) {
    std::fprintf(stderr, "rotor: %s\n", store_or.status().message().c_str());
    return kExitDataDir;
  }
  std::unique_ptr<LmdbStateStore> store = std::move(store_or).value();
  // Identities adopted from imported certificates (rotor import --adopt) are
  // declared in the store, not the fleet file: merged before anything
  // reconciles, so they are never taken for removed ones.
  size_t adopted_count = 0;
  {
    auto adopted = LoadAdopted(*store);
    if (!adopted.ok()) {
      std::fprintf(stderr, "rotor: %s\n", adopted.status().message().c_str());
      return kExitDataDir;
    }
    std::vector<std::string> warnings;
    Status merged = MergeAdopted(*adopted, &fleet_or.value(), &warnings);
    if (!merged.ok()) {
      std::fprintf(stderr, "rotor: %s: %s\n", opt.config.c_str(), merged.message().c_str());
      return kExitUsage;
    }
    for (const auto& w : warnings) LogWarn(w);
    adopted_count = adopted->size();
  }
  auto fleet = std::make_shared<const FleetSpec>(std::move(fleet_or).value());
  AuditJournalOptions journal_options;
  if (!opt.kafka_bootstrap.empty()) {
    // The outbox is trimmed only once Kafka has the events too (ARCHITECTURE §6).
    journal_options.trim_sinks.push_back(kRelaySinkName);
  } else if (store->GetSinkPosition(kRelaySinkName).ok()) {
    LogWarn(
        "this data directory shipped its audit events to Kafka before; without --kafka, events the journal "
        "has will be trimmed from the outbox and Kafka will never get them",
        {{"data_dir", opt.data_dir}});
  }
  auto journal_or = AuditJournal::Open(opt.data_dir, *store, journal_options);
  if (!journal_or.ok()) {
    std::fprintf(stderr, "rotor: audit journal: %s\n", journal_or.status().message().c_str());
    return kExitDataDir;
  }
  std::unique_ptr<AuditJournal> journal = std::move(journal_or).value();

  BoringHasher hasher;
  CredentialStack::Options cred_opts;
  cred_opts.data_dir = opt.data_dir;
  cred_opts.config_dir = ConfigDir(opt.config);
  cred_opts.fleet = fleet.get();
  auto creds_or = CredentialStack::Open(cred_opts);
  if (!creds_or.ok()) {
    std::fprintf(stderr, "rotor: %s\n", creds_or.status().message().c_str());
    return kExitDataDir;
  }
  std::unique_ptr<CredentialStack> creds = std::move(creds_or).value();
  PosixCommandRunner commands;
  const std::string source = "/rotor/" + NodeName();

  // Refuse a run the disk cannot hold before any identity is declared.
  std::optional<uint64_t> free_override;
  if (const char* v = std::getenv("ROTOR_DISK_FREE_BYTES")) free_override = std::strtoull(v, nullptr, 10);
  {
    uint64_t declared = 0, stored = 0;
    for (const auto& g : fleet->groups) declared += g.identities.size();
    if (auto count = store->Count(); count.ok()) stored = *count;
    const DiskEstimate need = EstimateDisk(*fleet, declared > stored ? declared - stored : 0);
    Status room = CheckFreeSpace(opt.data_dir, need, free_override);
    if (!room.ok()) {
      std::fprintf(stderr, "rotor: %s\n", room.message().c_str());
      LogError("not enough disk", {{"need_bytes", std::to_string(need.total())}, {"error", room.message()}});
      return kExitDataDir;
    }
  }
  // Reconcile the store with the fleet file: declare new identities.
  auto plan_or = Reconcile(*store, *fleet, hasher, clock.Now(), source);
  if (!plan_or.ok()) {
    std::fprintf(stderr, "rotor: loading the store: %s\n", plan_or.status().message().c_str());
    return kExitFailure;
  }
  ReconcilePlan plan = std::move(plan_or).value();
  if (adopted_count > 0) {
    size_t expired = 0;
    const Instant started_at = clock.Now();
    for (const RotationRecord& r : plan.records) {
      // Generation 1 of an adopted identity is the imported certificate.
      if (IsAdoptedGroup(r.group) && r.current && r.current->generation == 1 && r.current->not_after <= started_at) {
        ++expired;
        LogWarn("imported certificate of an adopted identity expired: re-issued now, as overdue",
                {{"id", r.id}, {"not_after", FormatRfc3339Seconds(r.current->not_after)}});
      }
    }
    LogInfo("adopted identities", {{"count", std::to_string(adopted_count)}, {"expired", std::to_string(expired)}});
  }
  // Audit events written outside the actors: declarations, start-up moves and
  // the CA intermediate's bring-up.
  std::atomic<uint64_t> reconcile_events{plan.declared};
  LogInfo("rotor starting", {{"data_dir", opt.data_dir},
                             {"config", opt.config},
                             {"identities", std::to_string(plan.records.size())},
                             {"declared", std::to_string(plan.declared)},
                             {"retiring", std::to_string(plan.removed_ids.size())}});

  RuntimePorts ports{&clock, &hasher, store.get(), creds->generator(), creds->sink(), &commands, crash_hook->get()};
  // Leaves cannot be signed before the CA's intermediate exists: bring it up
  // (or finish its interrupted rotation) before anything is scheduled.
  if (creds->ca()) {
    for (RotationRecord& r : plan.records) {
      if (r.id != kCaIdentityId) continue;
      const GroupSpec* ca_group = fleet->FindGroup(kCaGroupName);
      if (!ca_group) break;
      EffectRunnerPorts effect_ports{&clock, &hasher, creds->generator(), creds->sink(), &commands, crash_hook->get()};
      uint64_t ca_events = 0;
      Status up = BringUpCa(&r, *ca_group, *store, effect_ports, source, &ca_events);
      reconcile_events += ca_events;
      if (!up.ok()) {
        LogError("managed CA: no active intermediate yet; leaves wait for it", {{"error", up.ToString()}});
      } else {
        LogInfo("managed CA ready", {{"ca", opt.data_dir + "/ca/ca.pem"},
                                     {"bundle", creds->ca()->bundle_path()},
                                     {"intermediate_generation", std::to_string(r.current->generation)}});
      }
      break;
    }
  }
  RuntimeOptions options;
  options.audit_source = source;
  options.issuer_rate = opt.issuer_rate;
  auto runtime = RotationRuntime::Create(ports, options);
  runtime->Start(fleet, std::move(plan.records), plan.removed_ids, plan.moved);
  plan = ReconcilePlan{};
  // Loading left the heap full of freed copies of every record; once the
  // shards hold theirs (a snapshot is answered after the adoption), hand that
  // memory back: it halves the resident size of a large idle fleet.
  (void)runtime->Snapshot();
  malloc_trim(0);

  JournalDrainer drainer(journal.get());
  std::unique_ptr<RelaySupervisor> relay;
  if (!opt.kafka_bootstrap.empty()) {
    RelaySupervisorOptions relay_options;
    relay_options.data_dir = opt.data_dir;
    relay_options.bootstrap = opt.kafka_bootstrap;
    relay_options.topic = opt.kafka_topic;
    relay_options.settings = opt.kafka_settings;
    relay_options.quiet = LogQuiet();
    relay_options.backlog_limit = opt.kafka_backlog_limit;
    relay_options.policy =
        opt.kafka_backlog_policy == "pause-routine" ? BacklogPolicy::kPauseRoutine : BacklogPolicy::kAlert;
    if (relay_options.policy == BacklogPolicy::kPauseRoutine) {
      RotationRuntime* rt = runtime.get();
      relay_options.on_backlog = [rt](bool over) { rt->SetRoutinePaused(over); };
    }
    relay = std::make_unique<RelaySupervisor>(std::move(relay_options), store.get());
    relay->Start();
  }

  std::mutex fleet_mu;  // guards `fleet` between the control thread and reloads
  auto current_fleet = [&] {
    std::lock_guard<std::mutex> lock(fleet_mu);
    return fleet;
  };
  std::mutex reload_mu;  // one reload at a time (SIGHUP or `rotor apply`)
  // reload re-reads the fleet file; the running fleet stays when it is bad.
  auto reload = [&](const char* trigger) -> ControlReply {
    std::lock_guard<std::mutex> serial(reload_mu);
    ControlReply reply;
    std::vector<std::string> merge_warnings;
    auto reloaded = LoadFleetWithAdopted(opt.config, *store, clock.Now(), &merge_warnings);
    if (!reloaded.ok()) {
      LogError("fleet reload refused; keeping the running fleet",
               {{"trigger", trigger}, {"error", reloaded.status().message()}});
      reply.ok = false;
      reply.message = "fleet file refused, the running fleet is unchanged: " + reloaded.status().message();
      return reply;
    }
    for (const auto& w : merge_warnings) LogWarn(w, {{"trigger", trigger}});
    auto next = std::make_shared<const FleetSpec>(std::move(reloaded).value());
    // The CA is opened once, at start: a fleet that needs one for the first
    // time, or that changes how it is made, needs a restart.
    if (next->NeedsCa() && !creds->ca()) {
      reply.ok = false;
      reply.message =
          "fleet file refused, the running fleet is unchanged: it adds certificates, and the managed CA is "
          "created only at start; restart rotor with this fleet file";
      LogError("fleet reload refused; keeping the running fleet", {{"trigger", trigger}, {"error", reply.message}});
      return reply;
    }
    if (creds->ca() && !(next->ca == current_fleet()->ca)) {
      LogWarn("the ca section changed; the intermediate's policy applies now, the rest at the next start",
              {{"trigger", trigger}});
    }
    auto diff = ReconcileReload(*store, *current_fleet(), *next, hasher, clock.Now(), source);
    if (!diff.ok()) {
      LogError("fleet reload failed", {{"trigger", trigger}, {"error", diff.status().ToString()}});
      reply.ok = false;
      reply.message = "fleet reload failed: " + diff.status().ToString();
      return reply;
    }
    {
      std::lock_guard<std::mutex> lock(fleet_mu);
      fleet = next;
    }
    const size_t added = diff->records.size(), retiring = diff->removed_ids.size(), moved = diff->moved.size();
    reconcile_events += diff->declared;
    LogInfo("fleet reloaded", {{"trigger", trigger},
                               {"added", std::to_string(added)},
                               {"retiring", std::to_string(retiring)},
                               {"moved", std::to_string(moved)}});
    runtime->Reload(next, std::move(diff->records), diff->removed_ids, diff->moved);
    reply.accepted = added;
    reply.message = "fleet reloaded: " + std::to_string(added) + " identities added, " + std::to_string(retiring) +
                    " retiring, " + std::to_string(moved) + " moved to another group";
    reply.stats = {{"added", added}, {"retiring", retiring}, {"moved", moved}};
    return reply;
  };
  // A compromised intermediate (revoke rotor-ca --compromised) means every
  // leaf it signed is untrusted: once its replacement signs, the main loop
  // re-keys every certificate as an emergency (0: nothing pending).
  std::atomic<uint64_t> rekey_after_generation{0};
  std::atomic<bool> disk_short{false};  // the main loop's disk check
  auto handle = [&](const ControlRequest& req) {
    const uint64_t signer = creds->ca() && creds->ca()->CurrentIssuer() ? creds->ca()->CurrentIssuer()->generation : 0;
    ControlReply r = HandleControl(req, *runtime, *current_fleet(), disk_short.load());
    const bool ca_named = std::find(req.ids.begin(), req.ids.end(), kCaIdentityId) != req.ids.end();
    if (req.op == "revoke" && ca_named && r.accepted > 0 && signer != 0) {
      rekey_after_generation = signer;
      LogWarn("CA intermediate revoked as compromised: every certificate is re-keyed once its replacement signs",
              {{"compromised_generation", std::to_string(signer)}});
    }
    return r;
  };
  ControlServer control;
  Status cs = control.Start(ControlSocketPath(opt.data_dir), [&](const ControlRequest& req) {
    if (req.op == "reload") return reload("rotor apply");
    return handle(req);
  });
  if (!cs.ok()) LogWarn("control socket unavailable", {{"error", cs.ToString()}});

  // Commands queued while no daemon ran.
  auto queued = store->TakeCommands();
  if (queued.ok()) {
    for (const auto& cmd : *queued) {
      ControlRequest req = QueuedToRequest(cmd);
      ControlReply r = handle(req);  // the control thread may reload
      LogInfo("queued command executed", {{"verb", cmd.verb},
                                          {"target", cmd.target},
                                          {"result", r.message},
                                          {"first_refusal", r.refused.empty() ? "" : r.refused.front().second}});
    }
  } else {
    LogWarn("could not read queued commands", {{"error", queued.status().ToString()}});
  }

  const bool tty = opt.progress && isatty(STDERR_FILENO);
  SetProgressLineActive(tty);
  const auto started = std::chrono::steady_clock::now();
  auto last_log = started;
  auto last_trim = started;
  // The disk is checked again while running (the journal grows, the fleet
  // may grow on reload): below one more rotation of the fleet it is an error
  // in the log at once and every five minutes while it lasts, and in stats.
  // Rotations go on: holding renewals would let credentials expire.
  auto last_disk_check = started;
  auto last_disk_error = started;
  int exit_code = kExitOk;
  while (true) {
    timespec wait{0, 500'000'000L};
    int sig = sigtimedwait(&sigs, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      LogInfo("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      break;
    }
    if (sig == SIGHUP) (void)reload("SIGHUP");
    if (const uint64_t compromised = rekey_after_generation.load(); compromised != 0) {
      auto signer = creds->ca()->CurrentIssuer();
      if (signer && signer->generation > compromised) {
        rekey_after_generation = 0;
        uint64_t accepted = 0;
        uint64_t refused = 0;
        for (const auto& g : current_fleet()->groups) {
          if (g.kind != CredentialKind::kX509) continue;
          for (const auto& id : g.identities) (runtime->Revoke(id).ok() ? accepted : refused)++;
        }
        LogWarn("re-keying every certificate after the CA compromise",
                {{"new_intermediate_generation", std::to_string(signer->generation)},
                 {"accepted", std::to_string(accepted)},
                 {"refused", std::to_string(refused)}});
      }
    }
    const auto now_steady = std::chrono::steady_clock::now();
    if (tty) {
      std::string line = ProgressLine(runtime->Snapshot(), runtime->counters(), clock.Now());
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    } else if (now_steady - last_log >= std::chrono::seconds(10)) {
      last_log = now_steady;
      LogInfo("progress", {{"status", ProgressLine(runtime->Snapshot(), runtime->counters(), clock.Now())}});
    }
    if (now_steady - last_disk_check >= std::chrono::seconds(5)) {
      last_disk_check = now_steady;
      const Status room = CheckFreeSpace(opt.data_dir, EstimateDisk(*current_fleet(), 0), free_override);
      const bool was_short = disk_short.exchange(!room.ok());
      if (!room.ok() && (!was_short || now_steady - last_disk_error >= std::chrono::minutes(5))) {
        last_disk_error = now_steady;
        LogError("disk short of the next rotation of the fleet; free space now or rotations will fail",
                 {{"error", room.message()}});
      } else if (room.ok() && was_short) {
        LogInfo("disk space for the next rotation of the fleet is back", {{"data_dir", opt.data_dir}});
      }
    }
    // Rotations churn the heap (actors, candidates, batches); return what a
    // burst freed rather than keep its peak resident.
    if (now_steady - last_trim >= std::chrono::seconds(30)) {
      last_trim = now_steady;
      malloc_trim(0);
    }
    if (opt.duration_seconds > 0 &&
        std::chrono::duration<double>(now_steady - started).count() >= opt.duration_seconds) {
      break;
    }
  }
  if (tty) std::fputs("\n", stderr);
  SetProgressLineActive(false);
  control.Stop();
  runtime->Stop(Duration::Seconds(10));
  drainer.Stop();
  // After the last drain: the relay ships what it can, then records its position.
  if (relay) relay->Stop();
  const auto& c = runtime->counters();
  LogInfo("rotor stopped", {{"committed", std::to_string(c.rotations_committed.load())},
                            {"failed", std::to_string(c.rotations_failed.load())},
                            {"rolled_back", std::to_string(c.rollbacks.load())},
                            {"events", std::to_string(c.events_persisted.load() + reconcile_events.load())},
                            {"journal_events", std::to_string(drainer.drained())}});
  if (c.store_errors.load() > 0) exit_code = kExitFailure;
  return exit_code;
}

}  // namespace rotor::app
