// Conformance suite of the StateStore port (engine/ports/state_store.h).
//
// The contract tests (StateStoreContract) run against every implementation
// through a StoreHarness; add a harness to kStores for a new store. The
// LmdbStateStore tests after them pin what only the embedded store promises:
// its on-disk format check, the data-directory lock, read-only opens beside a
// writer, and corruption reported as DataLoss rather than a crash.
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/embedded/lmdb_state_store.h"
#include "engine/adoption.h"
#include "engine/model.h"
#include "engine/ports/state_store.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace rotor {
namespace {

// A fresh directory under /tmp, removed with its contents.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("rotor-store-test") {}
};

RotationRecord MakeRecord(const std::string& id, uint64_t generation = 1) {
  RotationRecord r;
  r.id = id;
  r.group = "payments";
  r.phase = Phase::kActive;
  r.current = CredentialVersion{generation, Instant::FromSeconds(1700000000), Instant::FromSeconds(1700086400),
                                "sha256:" + std::string(64, 'a')};
  r.next_generation = generation + 1;
  r.next_due = Instant::FromSeconds(1700050000);
  r.chain_seq = generation;
  r.chain_hash = std::string(64, 'b');
  return r;
}

StoreWrite Write(const std::string& id, std::string line, uint64_t generation = 1) {
  return StoreWrite{MakeRecord(id, generation), std::move(line)};
}

// StoreHarness owns the backing data of one store under test.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  // Open opens a store over the harness's data; the previous one must be gone.
  virtual StatusOr<std::unique_ptr<StateStore>> Open() = 0;
};

class LmdbHarness : public StoreHarness {
 public:
  StatusOr<std::unique_ptr<StateStore>> Open() override {
    auto store = LmdbStateStore::Open(dir_.path(), LmdbStateStore::OpenMode::kReadWrite);
    if (!store.ok()) return store.status();
    return std::unique_ptr<StateStore>(std::move(store).value());
  }

 private:
  TempDir dir_;
};

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>()> make;
};

// PrintTo names the store in test names and messages instead of gtest's dump
// of the struct's bytes.
void PrintTo(const StoreKind& kind, std::ostream* os) {
  *os << kind.name;
}

const StoreKind kStores[] = {
    {"Lmdb", [] { return std::make_unique<LmdbHarness>(); }},
};

class StateStoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto store = harness_->Open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::vector<OutboxEntry> Outbox(uint64_t after = 0) {
    auto entries = store_->ReadOutbox(after, 1000);
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    return entries.ok() ? *entries : std::vector<OutboxEntry>{};
  }

  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StateStoreContract, GetOfUnknownIdentityIsNotFound) {
  auto record = store_->Get("nobody");
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), StatusCode::kNotFound);
}

TEST_P(StateStoreContract, CommitMakesRecordsAndOutboxVisibleTogether) {
  ASSERT_TRUE(store_->Commit({Write("a", "{\"e\":1}"), Write("b", ""), Write("c", "{\"e\":3}")}).ok());

  for (const char* id : {"a", "b", "c"}) {
    auto record = store_->Get(id);
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    EXPECT_EQ(*record, MakeRecord(id));
  }
  auto count = store_->Count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3u);
  auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 2u);  // the empty line adds no entry
  EXPECT_EQ(outbox[0].line, "{\"e\":1}");
  EXPECT_EQ(outbox[1].line, "{\"e\":3}");
  EXPECT_LT(outbox[0].seq, outbox[1].seq);
}

TEST_P(StateStoreContract, FailedBatchWritesNothing) {
  // The second write has no id, which no store accepts: the first must not land either.
  Status status = store_->Commit({Write("a", "{\"e\":1}"), Write("", "{\"e\":2}")});
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(store_->Get("a").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Outbox().empty());
}

AdoptedIdentity MakeAdopted(const std::string& id) {
  AdoptedIdentity a;
  a.id = id;
  a.policy_name = "service-mtls";
  a.policy.name = "service-mtls";
  a.profile.key_type = KeyType::kP256;
  a.profile.subject = {{"CN", id + ".example"}, {"O", "Example"}};
  a.profile.dns = {id + ".example"};
  a.source = "/etc/tls/" + id + ".pem:1";
  a.imported_fingerprint = "sha256:" + std::string(64, 'c');
  a.imported_serial = "07277f52";
  a.adopted_at = Instant::FromSeconds(1700000000);
  return a;
}

TEST_P(StateStoreContract, AdoptedDeclarationsAreStoredWithTheirRecord) {
  StoreWrite first = Write("b", "{\"e\":1}");
  first.adopted = MakeAdopted("b");
  StoreWrite second = Write("a", "{\"e\":2}");
  second.adopted = MakeAdopted("a");
  ASSERT_TRUE(store_->Commit({first, second, Write("c", "")}).ok());
  Reopen();
  std::vector<AdoptedIdentity> seen;
  ASSERT_TRUE(store_
                  ->ForEachAdopted([&](const AdoptedIdentity& a) {
                    seen.push_back(a);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(seen.size(), 2u);  // "c" was not adopted
  EXPECT_EQ(seen[0], MakeAdopted("a"));
  EXPECT_EQ(seen[1], MakeAdopted("b"));
}

TEST_P(StateStoreContract, FailedBatchStoresNoAdoptedDeclaration) {
  StoreWrite adopted = Write("a", "{\"e\":1}");
  adopted.adopted = MakeAdopted("a");
  EXPECT_FALSE(store_->Commit({adopted, Write("", "{\"e\":2}")}).ok());
  int count = 0;
  ASSERT_TRUE(store_
                  ->ForEachAdopted([&](const AdoptedIdentity&) {
                    ++count;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(store_->Get("a").status().code(), StatusCode::kNotFound);
}

TEST_P(StateStoreContract, EmptyBatchIsOk) {
  EXPECT_TRUE(store_->Commit({}).ok());
  EXPECT_TRUE(Outbox().empty());
}

TEST_P(StateStoreContract, CommitReplacesRecord) {
  ASSERT_TRUE(store_->Commit({Write("a", "", 1)}).ok());
  ASSERT_TRUE(store_->Commit({Write("a", "", 2)}).ok());
  auto record = store_->Get("a");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(*record, MakeRecord("a", 2));
  EXPECT_EQ(*store_->Count(), 1u);
}

TEST_P(StateStoreContract, ForEachVisitsInIdOrderAndStopsEarly) {
  ASSERT_TRUE(store_->Commit({Write("c", ""), Write("a", ""), Write("b", "")}).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ForEach([&](const RotationRecord& r) {
                    seen.push_back(r.id);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  seen.clear();
  ASSERT_TRUE(store_
                  ->ForEach([&](const RotationRecord& r) {
                    seen.push_back(r.id);
                    return seen.size() < 2;
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

// LoadAll's runs, concatenated, are ForEach's records in ForEach's order.
std::vector<RotationRecord> Concatenated(const std::vector<std::vector<RotationRecord>>& runs) {
  std::vector<RotationRecord> all;
  for (const auto& run : runs) all.insert(all.end(), run.begin(), run.end());
  return all;
}

TEST_P(StateStoreContract, LoadAllIsForEachInRuns) {
  ASSERT_TRUE(store_->Commit({Write("c", "", 3), Write("a", "", 1), Write("b", "", 2)}).ok());
  std::vector<RotationRecord> each;
  ASSERT_TRUE(store_
                  ->ForEach([&](const RotationRecord& r) {
                    each.push_back(r);
                    return true;
                  })
                  .ok());
  for (size_t threads : {0, 1, 2, 8}) {
    auto runs = store_->LoadAll(threads);
    ASSERT_TRUE(runs.ok()) << runs.status().ToString();
    EXPECT_LE(runs->size(), std::max<size_t>(threads, 1));
    EXPECT_EQ(Concatenated(*runs), each) << threads << " threads";
  }
}

TEST_P(StateStoreContract, LoadAllOfAnEmptyStoreHasNoRecord) {
  auto runs = store_->LoadAll(4);
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(Concatenated(*runs).empty());
}

TEST_P(StateStoreContract, ReadOutboxHonoursAfterAndMax) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Commit({Write("a", "line" + std::to_string(i))}).ok());
  auto all = Outbox();
  ASSERT_EQ(all.size(), 5u);
  auto page = store_->ReadOutbox(all[1].seq, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].line, "line2");
  EXPECT_EQ((*page)[1].line, "line3");
  EXPECT_TRUE(store_->ReadOutbox(all[4].seq, 10)->empty());
}

TEST_P(StateStoreContract, OutboxSeqNeverReusedAcrossTrimAndReopen) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->Commit({Write("a", "x" + std::to_string(i))}).ok());
  uint64_t last = Outbox().back().seq;
  ASSERT_TRUE(store_->TrimOutbox(last).ok());
  EXPECT_TRUE(Outbox().empty());

  ASSERT_TRUE(store_->Commit({Write("a", "after-trim")}).ok());
  auto entries = Outbox();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_GT(entries[0].seq, last);
  last = entries[0].seq;

  ASSERT_TRUE(store_->TrimOutbox(last).ok());
  Reopen();
  ASSERT_TRUE(store_->Commit({Write("a", "after-reopen")}).ok());
  entries = Outbox();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_GT(entries[0].seq, last);
  EXPECT_EQ(entries[0].line, "after-reopen");
}

TEST_P(StateStoreContract, TrimOutboxKeepsLaterEntries) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->Commit({Write("a", "x" + std::to_string(i))}).ok());
  auto all = Outbox();
  ASSERT_TRUE(store_->TrimOutbox(all[1].seq).ok());
  auto rest = Outbox();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].seq, all[2].seq);
  EXPECT_EQ(rest[1].seq, all[3].seq);
  EXPECT_TRUE(store_->TrimOutbox(0).ok());  // nothing at or below 0: a no-op
  EXPECT_EQ(Outbox().size(), 2u);
}

TEST_P(StateStoreContract, SinkPositionsAreIndependentAndDurable) {
  EXPECT_EQ(store_->GetSinkPosition("journal").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->SetSinkPosition("journal", "7 1 512").ok());
  ASSERT_TRUE(store_->SetSinkPosition("kafka", "3").ok());
  ASSERT_TRUE(store_->SetSinkPosition("journal", "9 1 800").ok());
  Reopen();
  EXPECT_EQ(*store_->GetSinkPosition("journal"), "9 1 800");
  EXPECT_EQ(*store_->GetSinkPosition("kafka"), "3");
}

TEST_P(StateStoreContract, CommandsComeBackOldestFirstAndOnce) {
  QueuedCommand rotate{0, "rotate", "selector:group=payments", Instant::FromSeconds(100)};
  QueuedCommand revoke{0, "revoke", "svc-a", Instant::FromSeconds(200)};
  ASSERT_TRUE(store_->EnqueueCommand(rotate).ok());
  ASSERT_TRUE(store_->EnqueueCommand(revoke).ok());
  Reopen();
  auto taken = store_->TakeCommands();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].verb, "rotate");
  EXPECT_EQ((*taken)[0].target, "selector:group=payments");
  EXPECT_EQ((*taken)[0].queued_at, Instant::FromSeconds(100));
  EXPECT_EQ((*taken)[1].verb, "revoke");
  EXPECT_EQ((*taken)[1].target, "svc-a");
  EXPECT_LT((*taken)[0].seq, (*taken)[1].seq);
  EXPECT_TRUE(store_->TakeCommands()->empty());

  ASSERT_TRUE(store_->EnqueueCommand(rotate).ok());
  auto again = store_->TakeCommands();
  ASSERT_EQ(again->size(), 1u);
  EXPECT_GT((*again)[0].seq, (*taken)[1].seq);
}

TEST_P(StateStoreContract, CommandsQueuedTogetherComeBackInOrderAfterEarlierOnes) {
  ASSERT_TRUE(store_->EnqueueCommand({0, "rotate", "all", Instant::FromSeconds(50)}).ok());
  std::vector<QueuedCommand> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back({0, i % 7 == 0 ? "revoke" : "rotate", "svc-" + std::to_string(i), Instant::FromSeconds(60 + i)});
  }
  ASSERT_TRUE(store_->EnqueueCommands(batch).ok());
  ASSERT_TRUE(store_->EnqueueCommands({}).ok());
  Reopen();
  auto taken = store_->TakeCommands();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), batch.size() + 1);
  EXPECT_EQ((*taken)[0].target, "all");
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*taken)[i + 1].verb, batch[i].verb) << i;
    EXPECT_EQ((*taken)[i + 1].target, batch[i].target) << i;
    EXPECT_EQ((*taken)[i + 1].queued_at, batch[i].queued_at) << i;
    EXPECT_LT((*taken)[i].seq, (*taken)[i + 1].seq) << i;
  }
  EXPECT_TRUE(store_->TakeCommands()->empty());
}

TEST_P(StateStoreContract, ConcurrentCommitsGetDistinctIncreasingSeqs) {
  constexpr int kThreads = 4, kCommits = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommits; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store_->Commit({Write(id, id)}).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto entries = Outbox();
  ASSERT_EQ(entries.size(), size_t{kThreads * kCommits});
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LT(entries[i - 1].seq, entries[i].seq);
  EXPECT_EQ(*store_->Count(), uint64_t{kThreads * kCommits});
}

INSTANTIATE_TEST_SUITE_P(Stores, StateStoreContract, ::testing::ValuesIn(kStores),
                         [](const ::testing::TestParamInfo<StoreKind>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------------------
// LmdbStateStore only.

using Mode = LmdbStateStore::OpenMode;

std::unique_ptr<LmdbStateStore> MustOpen(const std::string& dir, Mode mode = Mode::kReadWrite) {
  auto store = LmdbStateStore::Open(dir, mode);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// RawPut writes straight into a named database, as corruption or another
// rotor version would. The store must be closed (one environment per process).
void RawPut(const std::string& data_dir, const char* db, const std::string& key, const std::string& value) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, (data_dir + "/store").c_str(), MDB_NOTLS, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(LmdbStateStore, CreatesPrivateDirectoriesAndFiles) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  auto store = MustOpen(data_dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->store_path(), data_dir + "/store");
  EXPECT_EQ(ModeOf(data_dir), 0700u);
  EXPECT_EQ(ModeOf(data_dir + "/store"), 0700u);
  EXPECT_EQ(ModeOf(data_dir + "/store/data.mdb"), 0600u);
  EXPECT_EQ(ModeOf(data_dir + "/LOCK"), 0600u);
}

TEST(LmdbStateStore, RefusesAnotherFormatVersion) {
  TempDir dir;
  MustOpen(dir.path()).reset();
  RawPut(dir.path(), "meta", "format_version", "2");
  auto store = LmdbStateStore::Open(dir.path(), Mode::kReadWrite);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("store format version 2"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("this rotor understands 1"), std::string::npos);
  EXPECT_EQ(LmdbStateStore::Open(dir.path(), Mode::kReadOnly).status().code(), StatusCode::kFailedPrecondition);
}

TEST(LmdbStateStore, SecondWriterIsRefusedWhileFirstIsOpen) {
  TempDir dir;
  EXPECT_FALSE(LmdbStateStore::IsLocked(dir.path()));
  auto first = MustOpen(dir.path());
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(LmdbStateStore::IsLocked(dir.path()));

  auto second = LmdbStateStore::Open(dir.path(), Mode::kReadWrite);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "data directory " + dir.path() + " is in use by another rotor process (pid " +
                                           std::to_string(::getpid()) + ")");

  first.reset();
  EXPECT_FALSE(LmdbStateStore::IsLocked(dir.path()));
  EXPECT_NE(MustOpen(dir.path()), nullptr);
}

TEST(LmdbStateStore, SecondOpenInOneProcessIsRefused) {
  TempDir dir;
  auto writer = MustOpen(dir.path());
  auto reader = LmdbStateStore::Open(dir.path(), Mode::kReadOnly);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reader.status().message().find("already open in this process"), std::string::npos);
}

// The CLI reads status while the daemon runs: another process, a read-only
// store, no lock taken. The child reports through its exit code.
TEST(LmdbStateStore, ReadOnlyProcessReadsBesideTheWriter) {
  TempDir dir;
  auto writer = MustOpen(dir.path());
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Commit({Write("svc-a", "{\"e\":1}")}).ok());

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    {
      auto reader = LmdbStateStore::Open(dir.path(), Mode::kReadOnly);
      if (!reader.ok()) {
        code = 10;
      } else if (auto r = (*reader)->Get("svc-a"); !r.ok() || *r != MakeRecord("svc-a")) {
        code = 11;
      } else if (auto o = (*reader)->ReadOutbox(0, 10); !o.ok() || o->size() != 1) {
        code = 12;
      } else if ((*reader)->Commit({Write("svc-b", "")}).code() != StatusCode::kFailedPrecondition) {
        code = 13;
      } else if (!LmdbStateStore::IsLocked(dir.path())) {
        code = 14;
      }
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's exit codes in the test";

  // The writer is unaffected by the reader having come and gone.
  EXPECT_TRUE(writer->Commit({Write("svc-b", "{\"e\":2}")}).ok());
  EXPECT_EQ(writer->ReadOutbox(0, 10)->size(), 2u);
}

// rotor-relay opens the daemon's store from another process as a sink
// writer: it reads the outbox and records its own position (which the
// daemon then sees), and every other write is refused.
TEST(LmdbStateStore, SinkWriterProcessRecordsItsPositionBesideTheWriter) {
  TempDir dir;
  auto writer = MustOpen(dir.path());
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Commit({Write("svc-a", "{\"e\":1}"), Write("svc-b", "{\"e\":2}")}).ok());

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    {
      auto relay = LmdbStateStore::Open(dir.path(), Mode::kSinkWriter);
      if (!relay.ok()) {
        code = 10;
      } else if (auto o = (*relay)->ReadOutbox(0, 10); !o.ok() || o->size() != 2) {
        code = 11;
      } else if (!(*relay)->SetSinkPosition("kafka", std::to_string(o->back().seq)).ok()) {
        code = 12;
      } else if ((*relay)->Commit({Write("svc-c", "")}).code() != StatusCode::kFailedPrecondition) {
        code = 13;
      } else if ((*relay)->TrimOutbox(1).code() != StatusCode::kFailedPrecondition) {
        code = 14;
      } else if ((*relay)->EnqueueCommand({}).code() != StatusCode::kFailedPrecondition) {
        code = 15;
      }
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's exit codes in the test";

  auto position = writer->GetSinkPosition("kafka");
  ASSERT_TRUE(position.ok()) << position.status().ToString();
  EXPECT_EQ(*position, std::to_string(writer->ReadOutbox(0, 10)->back().seq));
  EXPECT_TRUE(writer->Commit({Write("svc-c", "{\"e\":3}")}).ok());
  EXPECT_EQ(writer->ReadOutbox(0, 10)->size(), 3u);
}

TEST(LmdbStateStore, SinkWriterOpenWithoutStoreIsNotFound) {
  TempDir dir;
  auto store = LmdbStateStore::Open(dir.path() + "/nothing", Mode::kSinkWriter);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
}

TEST(LmdbStateStore, ReadOnlyOpenWithoutStoreIsNotFound) {
  TempDir dir;
  auto store = LmdbStateStore::Open(dir.path() + "/nothing", Mode::kReadOnly);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  EXPECT_NE(store.status().message().find(dir.path() + "/nothing/store"), std::string::npos);
}

TEST(LmdbStateStore, MalformedRecordIsDataLossNamingTheId) {
  TempDir dir;
  {
    auto store = MustOpen(dir.path());
    ASSERT_TRUE(store->Commit({Write("good", "")}).ok());
  }
  RawPut(dir.path(), "records", "broken", std::string("\x01\xff\x00garbage", 10));
  auto store = MustOpen(dir.path());
  ASSERT_NE(store, nullptr);

  auto record = store->Get("broken");
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(record.status().message().find("broken"), std::string::npos) << record.status().message();
  EXPECT_TRUE(store->Get("good").ok());

  Status each = store->ForEach([](const RotationRecord&) { return true; });
  EXPECT_EQ(each.code(), StatusCode::kDataLoss);
  EXPECT_NE(each.message().find("broken"), std::string::npos);

  auto loaded = store->LoadAll(2);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("broken"), std::string::npos) << loaded.status().message();
}

// Large enough that LoadAll decodes on several threads (it keeps small
// stores on the calling thread); every record comes back once, in id order,
// and one malformed record anywhere fails the load.
TEST(LmdbStateStore, LoadAllDecodesLargeStoresInParallelRunsInIdOrder) {
  TempDir dir;
  constexpr int kRecords = 20000;
  {
    auto store = MustOpen(dir.path());
    std::vector<StoreWrite> batch;
    for (int i = kRecords - 1; i >= 0; --i) {
      char id[16];
      std::snprintf(id, sizeof id, "id-%06d", i);
      batch.push_back(Write(id, "", static_cast<uint64_t>(i % 7 + 1)));
    }
    ASSERT_TRUE(store->Commit(batch).ok());
  }
  auto store = MustOpen(dir.path());
  ASSERT_NE(store, nullptr);
  auto runs = store->LoadAll(3);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(runs->size(), 3u);
  const std::vector<RotationRecord> all = Concatenated(*runs);
  ASSERT_EQ(all.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "id-%06d", i);
    ASSERT_EQ(all[i], MakeRecord(id, static_cast<uint64_t>(i % 7 + 1))) << i;
  }
  store.reset();
  RawPut(dir.path(), "records", "id-015000", std::string("\x01\xff\x00garbage", 10));
  store = MustOpen(dir.path());
  ASSERT_NE(store, nullptr);
  auto broken = store->LoadAll(3);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(broken.status().message().find("id-015000"), std::string::npos) << broken.status().message();
}

TEST(LmdbStateStore, MalformedCountersAndCommandsAreDataLoss) {
  TempDir dir;
  MustOpen(dir.path()).reset();
  RawPut(dir.path(), "meta", "outbox_next", "twelve");
  RawPut(dir.path(), "commands", std::string("\0\0\0\0\0\0\0\1", 8), "{not json");
  auto store = MustOpen(dir.path());
  ASSERT_NE(store, nullptr);

  Status commit = store->Commit({Write("a", "{\"e\":1}")});
  EXPECT_EQ(commit.code(), StatusCode::kDataLoss);
  EXPECT_NE(commit.message().find("outbox_next"), std::string::npos);
  auto commands = store->TakeCommands();
  ASSERT_FALSE(commands.ok());
  EXPECT_EQ(commands.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(commands.status().message().find("queued command 1"), std::string::npos);
}

}  // namespace
}  // namespace rotor
