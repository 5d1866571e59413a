// The actor runtime (actors/runtime.h) on a virtual clock: shards, identity
// actors and batch workers rotate a fleet through days of virtual time in
// well under a second of real time. The ports are the in-memory fakes of
// tests/support, so the test checks the actors' side of the contract: every
// persisted change carries one chained audit event, effects run in order and
// only after their state change is persisted, operator commands reach the
// owner, and the fakes end up agreeing with the store.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "actors/runtime.h"
#include "app/reconcile.h"
#include "engine/audit.h"
#include "tests/support/fake_world.h"

namespace rotor {
namespace {

using testing::FakeWorld;
using testing::MakeFleet;

const Instant kT0 = Instant::FromSeconds(1767225600);  // 2026-01-01T00:00:00Z

RenewalPolicy HourlyPolicy() {
  RenewalPolicy p;
  p.name = "hourly";
  p.lifetime = Duration::Hours(1);
  p.jitter = 0;
  p.grace = Duration::Minutes(5);
  p.max_issuances_per_window = 100;
  p.issuance_window = Duration::Hours(1);
  p.emergency_min_interval = Duration::Zero();
  return p;
}

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("svc-" + std::to_string(i));
  return ids;
}

// WaitFor polls `done` for up to 20 s of real time.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest() : world_(kT0) {}

  void Start(int n, double issuer_rate = 0, size_t max_active_per_shard = 512) {
    n_ = n;
    fleet_ = std::make_shared<const FleetSpec>(MakeFleet("payments", HourlyPolicy(), Ids(n)));
    auto plan = app::Reconcile(world_.store, *fleet_, world_.hasher, kT0, "/rotor/test");
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(plan->declared, static_cast<uint64_t>(n));
    RuntimePorts ports{&world_.clock, &world_.hasher,   &world_.store, &world_.generator,
                       &world_.sink,  &world_.commands, nullptr};
    RuntimeOptions options;
    options.shards = 3;
    options.tick_millis = 2;
    options.issuer_rate = issuer_rate;
    options.max_active_per_shard = max_active_per_shard;
    runtime_ = RotationRuntime::Create(ports, options);
    runtime_->Start(fleet_, std::move(plan->records), plan->removed_ids);
  }

  uint64_t Committed() { return runtime_->counters().rotations_committed.load(); }
  uint64_t Retired() { return runtime_->counters().retired_versions.load(); }
  bool Resting() { return runtime_->Snapshot().active_actors == 0; }

  // Every record agrees with the fake sink, and the audit lines chain.
  void ExpectConsistent(uint64_t want_generation) {
    SCOPED_TRACE("generation " + std::to_string(want_generation));
    ChainVerifier verifier(world_.hasher);
    for (const auto& line : world_.store.lines()) ASSERT_TRUE(verifier.Feed(line).ok()) << line;
    int seen = 0;
    ASSERT_TRUE(world_.store
                    .ForEach([&](const RotationRecord& r) {
                      ++seen;
                      EXPECT_TRUE(CheckInvariants(r).ok()) << r.id;
                      EXPECT_EQ(r.phase, Phase::kActive) << r.id;
                      if (!r.current) {
                        ADD_FAILURE() << r.id << " has no current version";
                        return true;
                      }
                      if (want_generation) {
                        EXPECT_EQ(r.current->generation, want_generation) << r.id;
                      }
                      EXPECT_EQ(*world_.sink.CurrentGeneration(r.id), r.current->generation) << r.id;
                      const auto& head = verifier.heads().at(r.id);
                      EXPECT_EQ(head.seq, r.chain_seq) << r.id;
                      EXPECT_EQ(head.hash, r.chain_hash) << r.id;
                      return true;
                    })
                    .ok());
    EXPECT_EQ(seen, n_);
  }

  FakeWorld world_;
  std::shared_ptr<const FleetSpec> fleet_;
  std::unique_ptr<RotationRuntime> runtime_;
  int n_ = 0;
};

TEST_F(RuntimeTest, IssuerTokenBucketPacesIssuancesOnTheInjectedClock) {
  // 10 issuances a second, burst 10, shared by the three shards. The virtual
  // clock stands still unless advanced, so the counts are exact.
  Start(60, /*issuer_rate=*/10);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 10 && Resting(); })) << Committed();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Committed(), 10u) << "issued past the burst without time passing";
  EXPECT_EQ(runtime_->Snapshot().due, 50u);
  world_.clock.Advance(Duration::Millis(500));  // five tokens
  ASSERT_TRUE(WaitFor([&] { return Committed() == 15 && Resting(); })) << Committed();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Committed(), 15u);
  // A long pause refills only up to the burst.
  world_.clock.Advance(Duration::Minutes(1));
  ASSERT_TRUE(WaitFor([&] { return Committed() == 25 && Resting(); })) << Committed();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Committed(), 25u);
  for (uint64_t want : {35, 45, 55, 60}) {
    world_.clock.Advance(Duration::Seconds(1));
    ASSERT_TRUE(WaitFor([&] { return Committed() == want && Resting(); })) << Committed() << " want " << want;
  }
  ExpectConsistent(1);
}

TEST_F(RuntimeTest, RotatesAFleetThroughVirtualDays) {
  Start(60);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 60 && Resting(); })) << Committed();
  ExpectConsistent(1);

  // Renewal at 2/3 of an hour: 40 minutes later every identity rotates once.
  world_.clock.Advance(Duration::Minutes(41));
  ASSERT_TRUE(WaitFor([&] { return Committed() == 120 && Resting(); })) << Committed();
  // The previous versions stay for their 5-minute grace window...
  for (const auto& id : Ids(60)) EXPECT_EQ(world_.sink.ListGenerations(id)->size(), 2u) << id;
  EXPECT_EQ(Retired(), 0u);
  // ...and are retired when it ends.
  world_.clock.Advance(Duration::Minutes(6));
  ASSERT_TRUE(WaitFor([&] { return Retired() == 60 && Resting(); })) << Retired();
  for (const auto& id : Ids(60)) EXPECT_EQ(*world_.sink.ListGenerations(id), std::vector<uint64_t>{2}) << id;
  ExpectConsistent(2);

  // A virtual day in 40-minute steps: 36 more rotations per identity.
  for (int i = 0; i < 36; ++i) {
    world_.clock.Advance(Duration::Minutes(40));
    const uint64_t want = 120 + 60 * static_cast<uint64_t>(i + 1);
    ASSERT_TRUE(WaitFor([&] { return Committed() >= want && Resting(); })) << "step " << i << ": " << Committed();
  }
  ExpectConsistent(0);
  EXPECT_EQ(runtime_->counters().rotations_failed.load(), 0u);
  EXPECT_EQ(runtime_->counters().store_errors.load(), 0u);
  runtime_->Stop(Duration::Seconds(5));
}

TEST_F(RuntimeTest, OperatorCommandsReachTheOwningShard) {
  Start(12);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 12 && Resting(); }));
  ASSERT_TRUE(runtime_->Rotate("svc-3").ok());
  ASSERT_TRUE(WaitFor([&] { return Committed() == 13 && Resting(); }));
  EXPECT_EQ(world_.store.Get("svc-3")->current->generation, 2u);
  EXPECT_EQ(world_.store.Get("svc-4")->current->generation, 1u);

  // Emergency: generation 1 of svc-5 is gone as soon as generation 2 commits.
  ASSERT_TRUE(runtime_->Revoke("svc-5").ok());
  ASSERT_TRUE(WaitFor([&] { return Committed() == 14 && Retired() == 1 && Resting(); }));
  EXPECT_EQ(*world_.sink.ListGenerations("svc-5"), std::vector<uint64_t>{2});
  EXPECT_EQ(world_.store.Get("svc-5")->retiring.size(), 0u);

  Status unknown = runtime_->Rotate("no-such-identity");
  EXPECT_FALSE(unknown.ok());
  ExpectConsistent(0);
  runtime_->Stop(Duration::Seconds(5));
  EXPECT_FALSE(runtime_->Rotate("svc-1").ok()) << "a stopped runtime must refuse commands";
}

// Operator commands wait in their shard for an admission slot; those not
// started when the runtime stops are kept in the store's command queue (the
// daemon runs them at its next start), never dropped.
TEST_F(RuntimeTest, OperatorCommandsNotStartedAtAStopStayQueuedInTheStore) {
  Start(12, /*issuer_rate=*/0, /*max_active_per_shard=*/1);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 12 && Resting(); }));
  // Each generation takes 50 ms: one rotation per shard at a time, three
  // shards, so most of the twelve are still waiting when the stop comes.
  world_.generator.SetFault([](const RotationRecord&, const CredentialVersion&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Status::Ok();
  });
  for (const auto& id : Ids(12)) {
    ASSERT_TRUE((id == "svc-7" ? runtime_->Revoke(id) : runtime_->Rotate(id)).ok()) << id;
  }
  runtime_->Stop(Duration::Seconds(5));

  auto queued = world_.store.TakeCommands();
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_GT(queued->size(), 0u) << "the stop came after every rotation had started";
  EXPECT_EQ(runtime_->counters().commands_requeued.load(), queued->size());
  std::set<std::string> waiting;
  for (const auto& c : *queued) {
    EXPECT_TRUE(waiting.insert(c.target).second) << c.target << " queued twice";
    EXPECT_EQ(c.verb, c.target == "svc-7" ? "revoke" : "rotate") << c.target;
  }
  // Every identity either rotated (generation 2) or waits in the queue, never both.
  for (const auto& id : Ids(12)) {
    const uint64_t generation = world_.store.Get(id)->current->generation;
    EXPECT_NE(generation == 2, waiting.count(id) == 1) << id << " at generation " << generation;
  }
}

// The Kafka backlog policy pause-routine: scheduled renewals wait while
// paused; operator and emergency rotations still run; releasing the pause
// lets the held renewals go.
TEST_F(RuntimeTest, PausedRoutineRenewalsWaitWhileOperatorAndEmergencyRotationsRun) {
  Start(12);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 12 && Resting(); }));
  runtime_->SetRoutinePaused(true);
  world_.clock.Advance(Duration::Minutes(41));  // every identity is due for renewal
  ASSERT_TRUE(WaitFor([&] { return runtime_->Snapshot().due == 12; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 150 ticks of 2 ms
  EXPECT_EQ(Committed(), 12u) << "a routine renewal ran while paused";

  ASSERT_TRUE(runtime_->Rotate("svc-3").ok());
  ASSERT_TRUE(runtime_->Revoke("svc-5").ok());
  ASSERT_TRUE(WaitFor([&] { return Committed() == 14 && Resting(); })) << Committed();
  EXPECT_EQ(world_.store.Get("svc-3")->current->generation, 2u);
  EXPECT_EQ(*world_.sink.ListGenerations("svc-5"), std::vector<uint64_t>{2});
  EXPECT_EQ(world_.store.Get("svc-4")->current->generation, 1u);

  runtime_->SetRoutinePaused(false);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 24 && Resting(); })) << Committed();
  ExpectConsistent(2);
  runtime_->Stop(Duration::Seconds(5));
}

TEST_F(RuntimeTest, DeliveryRejectionRollsBackThroughTheActors) {
  Start(5);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 5 && Resting(); }));
  world_.sink.FailNext(EffectType::kVerify, PermissionDenied("consumer rejected the key"), 1);
  ASSERT_TRUE(runtime_->Rotate("svc-0").ok());
  ASSERT_TRUE(WaitFor([&] { return runtime_->counters().rollbacks.load() == 1 && Resting(); }));
  auto r = world_.store.Get("svc-0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->current->generation, 1u) << "a failed rotation must leave current as it was";
  EXPECT_EQ(*world_.sink.CurrentGeneration("svc-0"), 1u);
  // The back-off ends; the retry is a fresh generation.
  world_.clock.Advance(Duration::Minutes(10));
  ASSERT_TRUE(WaitFor([&] { return Committed() == 6 && Resting(); }));
  EXPECT_EQ(world_.store.Get("svc-0")->current->generation, 3u);
  runtime_->Stop(Duration::Seconds(5));
}

// Regression: a rotate that reached an identity while it was only retiring an
// old version (an active actor, but no rotation in flight) used to be refused
// as "already rotating"; a command queued while no daemon ran was then lost.
TEST_F(RuntimeTest, RotateWhileRetiringAnOldVersionIsTaken) {
  Start(2);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 2 && Resting(); }));
  ASSERT_TRUE(runtime_->Rotate("svc-0").ok());
  ASSERT_TRUE(WaitFor([&] { return Committed() == 3 && Resting(); }));
  std::atomic<bool> slow{true};
  world_.sink.SetFault([&](EffectType op, const std::string& id, uint64_t) {
    if (op == EffectType::kRetire && id == "svc-0" && slow.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return Status::Ok();
  });
  world_.clock.Advance(Duration::Minutes(6));  // the grace window of generation 1 ends
  ASSERT_TRUE(WaitFor([&] { return runtime_->Snapshot().active_actors == 1; }));
  Status s = runtime_->Rotate("svc-0");
  EXPECT_TRUE(s.ok()) << s.ToString();
  slow = false;
  ASSERT_TRUE(WaitFor([&] { return Committed() == 4 && Resting(); })) << Committed();
  EXPECT_EQ(world_.store.Get("svc-0")->current->generation, 3u);
  runtime_->Stop(Duration::Seconds(5));
}

// A commit the store refuses leaves the identity as the store has it; it is
// woken again a second later and the rotation goes through.
TEST_F(RuntimeTest, StoreFailureFallsBackToTheDurableRecord) {
  Start(3);
  ASSERT_TRUE(WaitFor([&] { return Committed() == 3 && Resting(); }));
  const uint64_t seq_before = world_.store.Get("svc-1")->chain_seq;
  world_.store.FailNextCommits(Unavailable("disk full"), 1);
  ASSERT_TRUE(runtime_->Rotate("svc-1").ok());
  ASSERT_TRUE(WaitFor([&] { return runtime_->counters().store_errors.load() == 1 && Resting(); }));
  auto r = world_.store.Get("svc-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->phase, Phase::kActive);
  EXPECT_EQ(r->chain_seq, seq_before) << "nothing of the refused commit may be in the store";
  world_.clock.Advance(Duration::Seconds(2));
  ASSERT_TRUE(runtime_->Rotate("svc-1").ok());
  ASSERT_TRUE(WaitFor([&] { return Committed() == 4 && Resting(); })) << Committed();
  ExpectConsistent(0);
  EXPECT_EQ(world_.store.Get("svc-1")->current->generation, 2u);
  runtime_->Stop(Duration::Seconds(5));
}

}  // namespace
}  // namespace rotor
