#include "actors/runtime.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "actors/internal.h"

namespace rotor {

size_t ShardOf(const std::string& id, size_t shards) {
  // FNV-1a: stable across processes and releases (std::hash is not).
  uint64_t h = 1469598103934665603ULL;
  for (char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<size_t>(h % shards);
}

namespace actors {
namespace {

class CafRuntime final : public RotationRuntime {
 public:
  CafRuntime(RuntimePorts ports, RuntimeOptions options) {
    ctx_.ports = ports;
    ctx_.options = options;
    ctx_.counters = &counters_;
    ctx_.retire_policy.name = "retire";
    ctx_.retire_policy.grace = Duration::Zero();

    store_writer_ = std::make_unique<BatchWorker<StoreJob>>(
        options.store_batch,
        [this](std::vector<StoreJob>& jobs) {
          std::vector<StoreWrite> batch;
          batch.reserve(jobs.size());
          for (auto& j : jobs) batch.push_back(j.write);
          auto status = std::make_shared<const Status>(ctx_.ports.store->Commit(batch));
          for (auto& j : jobs) caf::anon_send(j.reply_to, persisted_atom::value, StatusPtr(status));
        },
        1, "rotor-store");
    auto effects = [this](std::vector<EffectRequest>& reqs) {
      EffectRunner runner(EffectRunnerPorts{ctx_.ports.clock, ctx_.ports.hasher, ctx_.ports.generator, ctx_.ports.sink,
                                            ctx_.ports.commands, ctx_.ports.faults});
      std::vector<EffectJob> jobs;
      jobs.reserve(reqs.size());
      for (auto& r : reqs) jobs.push_back(std::move(r.job));
      std::vector<EffectOutcome> outs = runner.Run(jobs);
      for (size_t i = 0; i < reqs.size(); ++i) {
        caf::anon_send(reqs[i].reply_to, effect_atom::value,
                       OutcomePtr(std::make_shared<EffectOutcome>(std::move(outs[i]))));
      }
    };
    // The crypto pool: key generation and signing on a fixed number of
    // threads, one per core unless configured (ARCHITECTURE §4–5).
    const size_t crypto_threads =
        options.crypto_threads ? options.crypto_threads : std::max(1u, std::thread::hardware_concurrency());
    crypto_worker_ =
        std::make_unique<BatchWorker<EffectRequest>>(options.crypto_batch, effects, crypto_threads, "rotor-crypto");
    file_worker_ = std::make_unique<BatchWorker<EffectRequest>>(options.effect_batch, effects, 1, "rotor-files");
    ctx_.store_writer = store_writer_.get();
    ctx_.crypto_worker = crypto_worker_.get();
    ctx_.file_worker = file_worker_.get();
    ctx_.routine_paused = &routine_paused_;
    if (options.issuer_rate > 0) {
      issuers_ = std::make_unique<IssuerBuckets>(options.issuer_rate, options.issuer_burst);
      ctx_.issuers = issuers_.get();
    }

    cfg_.set("scheduler.max-threads", options.caf_threads);
    cfg_.set("logger.console", caf::atom("none"));
    system_ = std::make_unique<caf::actor_system>(cfg_);
    for (size_t i = 0; i < options.shards; ++i) shards_.push_back(system_->spawn(ShardActor, &ctx_, i));
  }

  ~CafRuntime() override { Stop(Duration::Seconds(10)); }

  void Start(std::shared_ptr<const FleetSpec> fleet, std::vector<RotationRecord> records,
             const std::vector<std::string>& removed_ids, const std::vector<GroupMove>& moved) override {
    Distribute(std::move(fleet), std::move(records), removed_ids, moved);
  }

  void Reload(std::shared_ptr<const FleetSpec> fleet, std::vector<RotationRecord> added,
              const std::vector<std::string>& removed_ids, const std::vector<GroupMove>& moved) override {
    Distribute(std::move(fleet), std::move(added), removed_ids, moved);
  }

  Status Rotate(const std::string& id) override { return Operator(id, EventType::kOperatorRotate); }
  Status Revoke(const std::string& id) override { return Operator(id, EventType::kOperatorRevoke); }
  void SetRoutinePaused(bool paused) override { routine_paused_ = paused; }

  RuntimeSnapshot Snapshot() override {
    RuntimeSnapshot total;
    caf::scoped_actor blocker{*system_};
    for (auto& shard : shards_) {
      blocker->request(shard, std::chrono::seconds(10), stats_atom::value)
          .receive(
              [&](SnapshotPtr snap) {
                total.identities += snap->identities;
                total.active_actors += snap->active_actors;
                total.due += snap->due;
                for (const auto& [phase, n] : snap->by_phase) total.by_phase[phase] += n;
                total.next_due = std::min(total.next_due, snap->next_due);
              },
              [&](caf::error&) {});
    }
    return total;
  }

  const RuntimeCounters& counters() const override { return counters_; }

  void Stop(Duration grace) override {
    if (stopped_) return;
    stopped_ = true;
    std::vector<QueuedCommand> unstarted;
    {
      caf::scoped_actor blocker{*system_};
      const auto deadline = std::chrono::microseconds(std::max<int64_t>(grace.micros, 1000));
      for (auto& shard : shards_) {
        blocker->request(shard, deadline, stop_atom::value).receive([](bool) {}, [](caf::error&) {});
      }
      for (auto& shard : shards_) {
        blocker->request(shard, std::chrono::seconds(10), unqueue_atom::value)
            .receive(
                [&](CommandsPtr commands) { unstarted.insert(unstarted.end(), commands->begin(), commands->end()); },
                [](caf::error&) {});
      }
    }
    for (auto& shard : shards_) caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    shards_.clear();
    // Actors still mid-rotation (grace expired) leave their records in a
    // recoverable phase in the store; recovery resumes them at next start.
    system_.reset();
    crypto_worker_->Stop();
    file_worker_->Stop();
    store_writer_->Stop();
    // Operator commands accepted but not started run at the next start, as
    // commands sent while no daemon runs do.
    if (!unstarted.empty() && ctx_.ports.store != nullptr) {
      if (ctx_.ports.store->EnqueueCommands(unstarted).ok()) {
        counters_.commands_requeued += unstarted.size();
      } else {
        counters_.store_errors++;
      }
    }
  }

 private:
  void Distribute(std::shared_ptr<const FleetSpec> fleet, std::vector<RotationRecord> records,
                  const std::vector<std::string>& removed_ids, const std::vector<GroupMove>& moved_ids) {
    const size_t n = shards_.size();
    std::vector<std::vector<RotationRecord>> per_shard(n);
    std::vector<std::vector<std::string>> removed(n);
    std::vector<std::vector<GroupMove>> moved(n);
    for (const auto& m : moved_ids) moved[ShardOf(m.id, n)].push_back(m);
    for (auto& r : records) {
      const size_t s = ShardOf(r.id, n);
      per_shard[s].push_back(std::move(r));
    }
    for (const auto& id : removed_ids) removed[ShardOf(id, n)].push_back(id);
    for (size_t i = 0; i < n; ++i) {
      caf::anon_send(shards_[i], fleet_atom::value, FleetPtr(fleet));
      caf::anon_send(shards_[i], adopt_atom::value,
                     RecordsPtr(std::make_shared<std::vector<RotationRecord>>(std::move(per_shard[i]))),
                     IdsPtr(std::make_shared<std::vector<std::string>>(std::move(removed[i]))),
                     MovesPtr(std::make_shared<std::vector<GroupMove>>(std::move(moved[i]))));
    }
  }

  Status Operator(const std::string& id, EventType type) {
    if (shards_.empty()) return Unavailable("the runtime is stopped");
    auto ev = std::make_shared<Event>();
    ev->type = type;
    Status result = Unavailable("no reply from the shard of " + id);
    caf::scoped_actor blocker{*system_};
    // An identity actor that passivates while the request is delegated to it
    // answers with an error; the shard has its record by the next attempt.
    for (int attempt = 0; attempt < 3; ++attempt) {
      bool answered = false;
      blocker
          ->request(shards_[ShardOf(id, shards_.size())], std::chrono::seconds(10), operator_atom::value, EventPtr(ev),
                    id)
          .receive(
              [&](StatusPtr s) {
                result = *s;
                answered = true;
              },
              [&](caf::error& e) { result = Unavailable("shard did not answer: " + system_->render(e)); });
      if (answered) break;
    }
    return result;
  }

  Context ctx_;
  RuntimeCounters counters_;
  std::atomic<bool> routine_paused_{false};
  std::unique_ptr<BatchWorker<StoreJob>> store_writer_;
  std::unique_ptr<BatchWorker<EffectRequest>> crypto_worker_;
  std::unique_ptr<BatchWorker<EffectRequest>> file_worker_;
  std::unique_ptr<IssuerBuckets> issuers_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::vector<caf::actor> shards_;
  bool stopped_ = false;
};

}  // namespace
}  // namespace actors

std::unique_ptr<RotationRuntime> RotationRuntime::Create(RuntimePorts ports, RuntimeOptions options) {
  return std::make_unique<actors::CafRuntime>(ports, options);
}

}  // namespace rotor
