// Conformance suite of the DeliverySink port (engine/ports/credentials.h).
//
// The contract tests (DeliverySinkContract) run against every implementation
// through a SinkHarness; add a harness to kSinks for a new sink. What a sink
// cannot hold is declared as a capability, never by weakening the contract:
// the in-memory FakeDeliverySink keeps one file ("secret") per version and
// overwrites on redelivery, so the multi-file and conflict cases skip it.
//
// The FileDeliverySink tests after them pin what only the file sink promises
// (connectors/files/file_delivery_sink.h): modes from creation, refusal of
// wrong modes, unexpected entries and planted symlinks, leftovers of an
// interrupted write, name validation, and where the files live.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/files/file_delivery_sink.h"
#include "engine/ports/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/fake_delivery_sink.h"
#include "tests/support/printers.h"
#include "tests/support/test_paths.h"

namespace rotor {
namespace {

namespace fs = std::filesystem;

// --- Material --------------------------------------------------------------------

Material Clone(const Material& m) {
  Material out;
  for (const MaterialFile& f : m) out.push_back({f.name, SecretBytes(std::string(f.bytes.view()))});
  return out;
}

// CertificateMaterial is a certificate version's three files, listed out of
// name order so that ReadBack's sorting is observable. The bytes are opaque
// to a sink; a NUL and a high byte check that nothing treats them as text.
Material CertificateMaterial(uint64_t generation, const std::string& tag = "") {
  const std::string g = std::to_string(generation) + tag;
  Material m;
  m.push_back({"key.pem", SecretBytes("-----BEGIN PRIVATE KEY-----\nkey " + g + std::string("\0\xff", 2) +
                                      "\n-----END PRIVATE KEY-----\n")});
  m.push_back({"cert.pem", SecretBytes("-----BEGIN CERTIFICATE-----\nleaf " + g + "\n-----END CERTIFICATE-----\n")});
  m.push_back({"chain.pem", SecretBytes("-----BEGIN CERTIFICATE-----\nca " + g + "\n-----END CERTIFICATE-----\n")});
  return m;
}

Material SecretMaterial(uint64_t generation, const std::string& tag = "") {
  Material m;
  m.push_back({"secret", SecretBytes("rtk_" + std::to_string(generation) + tag + std::string("\0\xff", 2))});
  return m;
}

std::vector<std::string> Names(const Material& m) {
  std::vector<std::string> names;
  for (const MaterialFile& f : m) names.push_back(f.name);
  return names;
}

// SameFiles compares two materials as sets of (name, bytes).
::testing::AssertionResult SameFiles(const Material& want, const Material& got) {
  auto sorted = [](const Material& m) {
    std::vector<std::pair<std::string, std::string>> v;
    for (const MaterialFile& f : m) v.emplace_back(f.name, std::string(f.bytes.view()));
    std::sort(v.begin(), v.end());
    return v;
  };
  if (sorted(want) == sorted(got)) return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure() << "material differs; got files:";
  for (const MaterialFile& f : got) r << " " << f.name << "(" << f.bytes.view().size() << " bytes)";
  return r;
}

// --- Harnesses -------------------------------------------------------------------

// SinkHarness owns one sink under test and whatever backs it.
class SinkHarness {
 public:
  virtual ~SinkHarness() = default;
  virtual DeliverySink& sink() = 0;
};

class FileHarness : public SinkHarness {
 public:
  FileHarness() {
    auto sink = FileDeliverySink::Open(dir_.path() + "/out");
    if (!sink.ok()) ADD_FAILURE() << sink.status().ToString();
    if (sink.ok()) sink_ = std::move(sink).value();
  }
  DeliverySink& sink() override { return *sink_; }

 private:
  testing::TempDir dir_{"rotor-sink-test"};
  std::unique_ptr<FileDeliverySink> sink_;
};

class FakeHarness : public SinkHarness {
 public:
  DeliverySink& sink() override { return sink_; }

 private:
  testing::FakeDeliverySink sink_;
};

struct SinkKind {
  std::string name;
  // The sink holds several files per version (the fake holds one, "secret").
  bool multi_file = true;
  // Redelivering a generation with different bytes is AlreadyExists (the
  // fake overwrites: engine tests use that to simulate tampering).
  bool refuses_conflicting_redelivery = true;
  std::function<std::unique_ptr<SinkHarness>()> make;
};

void PrintTo(const SinkKind& kind, std::ostream* os) {
  *os << kind.name;
}

const SinkKind kSinks[] = {
    {"File", true, true, [] { return std::make_unique<FileHarness>(); }},
    {"Fake", false, false, [] { return std::make_unique<FakeHarness>(); }},
};

class DeliverySinkContract : public ::testing::TestWithParam<SinkKind> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    if (::testing::Test::HasFailure()) GTEST_SKIP() << "harness failed to open";
  }

  DeliverySink& sink() { return harness_->sink(); }

  // VersionMaterial is what a version of this sink's capability looks like.
  Material VersionMaterial(uint64_t generation, const std::string& tag = "") {
    return GetParam().multi_file ? CertificateMaterial(generation, tag) : SecretMaterial(generation, tag);
  }

  Status Deliver(const std::string& id, uint64_t generation, const Material& m) {
    std::vector<Status> r = sink().Deliver({{id, generation, &m}});
    return r.size() == 1 ? r[0] : Internal("Deliver returned " + std::to_string(r.size()) + " results");
  }
  Status DeliverVersion(const std::string& id, uint64_t generation) {
    const Material m = VersionMaterial(generation);
    return Deliver(id, generation, m);
  }
  Status Activate(const std::string& id, uint64_t generation) {
    std::vector<Status> r = sink().Activate({{id, generation}});
    return r.size() == 1 ? r[0] : Internal("Activate returned " + std::to_string(r.size()) + " results");
  }
  Status Discard(const std::string& id, uint64_t generation, uint64_t restore) {
    std::vector<Status> r = sink().Discard({{id, generation, restore}});
    return r.size() == 1 ? r[0] : Internal("Discard returned " + std::to_string(r.size()) + " results");
  }
  Status Retire(const std::string& id, uint64_t generation) {
    std::vector<Status> r = sink().Retire({{id, generation}});
    return r.size() == 1 ? r[0] : Internal("Retire returned " + std::to_string(r.size()) + " results");
  }
  uint64_t Current(const std::string& id) {
    auto g = sink().CurrentGeneration(id);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : ~uint64_t{0};
  }
  std::vector<uint64_t> Generations(const std::string& id) {
    auto g = sink().ListGenerations(id);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : std::vector<uint64_t>{};
  }

  std::unique_ptr<SinkHarness> harness_;
};

INSTANTIATE_TEST_SUITE_P(Sinks, DeliverySinkContract, ::testing::ValuesIn(kSinks),
                         [](const ::testing::TestParamInfo<SinkKind>& param) { return param.param.name; });

TEST_P(DeliverySinkContract, MultiFileVersionReadsBackSortedByNameWithIdenticalBytes) {
  if (!GetParam().multi_file) GTEST_SKIP() << GetParam().name << " holds one file per version";
  const Material m = CertificateMaterial(1);
  ASSERT_EQ(Names(m), (std::vector<std::string>{"key.pem", "cert.pem", "chain.pem"}));
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());

  auto back = sink().ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Names(*back), (std::vector<std::string>{"cert.pem", "chain.pem", "key.pem"}));
  EXPECT_TRUE(SameFiles(m, *back));
}

TEST_P(DeliverySinkContract, DeliveredVersionReadsBackByteForByte) {
  const Material m = VersionMaterial(1);
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());
  auto back = sink().ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameFiles(m, *back));
}

TEST_P(DeliverySinkContract, RedeliveringIdenticalMaterialIsOk) {
  const Material m = VersionMaterial(1);
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());
  const Material again = Clone(m);
  EXPECT_TRUE(Deliver("svc-1", 1, again).ok());
  auto back = sink().ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameFiles(m, *back));
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{1});
}

TEST_P(DeliverySinkContract, RedeliveringDifferentBytesForAGenerationIsAlreadyExists) {
  if (!GetParam().refuses_conflicting_redelivery) GTEST_SKIP() << GetParam().name << " overwrites on redelivery";
  const Material m = VersionMaterial(1);
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());
  const Material other = VersionMaterial(1, "-other");
  EXPECT_EQ(Deliver("svc-1", 1, other).code(), StatusCode::kAlreadyExists);
  // The delivered version is untouched.
  auto back = sink().ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameFiles(m, *back));
}

TEST_P(DeliverySinkContract, EachItemOfABatchHasItsOwnStatusInOrder) {
  const Material a = VersionMaterial(1);
  const Material b = VersionMaterial(2);
  std::vector<Status> r = sink().Deliver({{"svc-a", 1, &a}, {"svc-b", 0, &b}, {"svc-c", 2, &b}});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok()) << r[0].ToString();
  EXPECT_EQ(r[1].code(), StatusCode::kInvalidArgument) << "generation 0 is no version";
  EXPECT_TRUE(r[2].ok()) << r[2].ToString();
  EXPECT_TRUE(sink().ReadBack("svc-a", 1).ok());
  EXPECT_TRUE(sink().ReadBack("svc-c", 2).ok());
  EXPECT_EQ(Generations("svc-b"), std::vector<uint64_t>{});
}

TEST_P(DeliverySinkContract, ReadBackOfUndeliveredVersionIsNotFound) {
  EXPECT_EQ(sink().ReadBack("svc-1", 1).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  EXPECT_EQ(sink().ReadBack("svc-1", 2).status().code(), StatusCode::kNotFound);
}

TEST_P(DeliverySinkContract, UnknownIdentityHasNoCurrentAndNoGenerations) {
  EXPECT_EQ(Current("never-seen"), 0u);
  EXPECT_EQ(Generations("never-seen"), std::vector<uint64_t>{});
}

TEST_P(DeliverySinkContract, DeliveryAloneDoesNotPointCurrent) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  EXPECT_EQ(Current("svc-1"), 0u);
}

TEST_P(DeliverySinkContract, ActivateOfUndeliveredVersionFailsAndLeavesCurrent) {
  EXPECT_FALSE(Activate("svc-1", 1).ok()) << "nothing delivered at all";
  EXPECT_EQ(Current("svc-1"), 0u);
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  Status s = Activate("svc-1", 2);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.code() == StatusCode::kNotFound || s.code() == StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(Current("svc-1"), 1u);
}

TEST_P(DeliverySinkContract, ActivatePointsCurrentAtTheDeliveredVersion) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  EXPECT_EQ(Current("svc-1"), 1u);
  ASSERT_TRUE(DeliverVersion("svc-1", 2).ok());
  EXPECT_EQ(Current("svc-1"), 1u) << "a delivered version is not current before Activate";
  ASSERT_TRUE(Activate("svc-1", 2).ok());
  EXPECT_EQ(Current("svc-1"), 2u);
  EXPECT_TRUE(Activate("svc-1", 2).ok()) << "Activate is idempotent";
  EXPECT_EQ(Current("svc-1"), 2u);
  // Switching back (a rollback's restore) is allowed too.
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  EXPECT_EQ(Current("svc-1"), 1u);
}

TEST_P(DeliverySinkContract, IdentitiesAreIndependent) {
  ASSERT_TRUE(DeliverVersion("svc-a", 1).ok());
  ASSERT_TRUE(DeliverVersion("svc-b", 1).ok());
  ASSERT_TRUE(Activate("svc-a", 1).ok());
  EXPECT_EQ(Current("svc-a"), 1u);
  EXPECT_EQ(Current("svc-b"), 0u);
  ASSERT_TRUE(Retire("svc-b", 1).ok());
  EXPECT_EQ(Generations("svc-b"), std::vector<uint64_t>{});
  EXPECT_EQ(Generations("svc-a"), std::vector<uint64_t>{1});
}

TEST_P(DeliverySinkContract, DiscardOfPendingVersionRestoresPreviousCurrent) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  ASSERT_TRUE(DeliverVersion("svc-1", 2).ok());
  ASSERT_TRUE(Discard("svc-1", 2, 1).ok());
  EXPECT_EQ(Current("svc-1"), 1u);
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{1});
  EXPECT_EQ(sink().ReadBack("svc-1", 2).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(sink().ReadBack("svc-1", 1).ok());
}

TEST_P(DeliverySinkContract, DiscardOfActivatedVersionRepointsCurrentAtRestoreGeneration) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  ASSERT_TRUE(DeliverVersion("svc-1", 2).ok());
  ASSERT_TRUE(Activate("svc-1", 2).ok());
  ASSERT_TRUE(Discard("svc-1", 2, 1).ok());
  EXPECT_EQ(Current("svc-1"), 1u);
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{1});
  EXPECT_TRUE(Discard("svc-1", 2, 1).ok()) << "Discard is idempotent";
  EXPECT_EQ(Current("svc-1"), 1u);
}

TEST_P(DeliverySinkContract, DiscardWithRestoreZeroRemovesCurrent) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  ASSERT_TRUE(Discard("svc-1", 1, 0).ok());
  EXPECT_EQ(Current("svc-1"), 0u);
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{});
  EXPECT_EQ(sink().ReadBack("svc-1", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(DeliverySinkContract, DiscardOfAFirstIssuanceNeverDeliveredIsOk) {
  EXPECT_TRUE(Discard("svc-new", 1, 0).ok());
  EXPECT_EQ(Current("svc-new"), 0u);
}

TEST_P(DeliverySinkContract, DiscardRestoringAnUndeliveredVersionFailsAndRemovesNothing) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  ASSERT_TRUE(DeliverVersion("svc-1", 2).ok());
  EXPECT_FALSE(Discard("svc-1", 2, 7).ok());
  // `current` never names a missing version, and nothing was lost.
  EXPECT_EQ(Current("svc-1"), 1u);
  EXPECT_EQ(Generations("svc-1"), (std::vector<uint64_t>{1, 2}));
}

TEST_P(DeliverySinkContract, RetireRefusesTheCurrentVersion) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  EXPECT_EQ(Retire("svc-1", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Current("svc-1"), 1u);
  EXPECT_TRUE(sink().ReadBack("svc-1", 1).ok());
}

TEST_P(DeliverySinkContract, RetireRemovesAnOldVersionIdempotently) {
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  ASSERT_TRUE(DeliverVersion("svc-1", 2).ok());
  ASSERT_TRUE(Activate("svc-1", 2).ok());
  EXPECT_TRUE(Retire("svc-1", 1).ok());
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{2});
  EXPECT_EQ(sink().ReadBack("svc-1", 1).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Retire("svc-1", 1).ok()) << "retiring again";
  EXPECT_EQ(Current("svc-1"), 2u);
  EXPECT_TRUE(sink().ReadBack("svc-1", 2).ok());
}

TEST_P(DeliverySinkContract, RetireOfAMissingVersionOrIdentityIsOk) {
  EXPECT_TRUE(Retire("never-seen", 3).ok());
  ASSERT_TRUE(DeliverVersion("svc-1", 1).ok());
  ASSERT_TRUE(Activate("svc-1", 1).ok());
  EXPECT_TRUE(Retire("svc-1", 9).ok());
  EXPECT_EQ(Generations("svc-1"), std::vector<uint64_t>{1});
}

TEST_P(DeliverySinkContract, ListGenerationsIsNumericallySorted) {
  for (uint64_t g : {3u, 1u, 10u, 2u}) ASSERT_TRUE(DeliverVersion("svc-1", g).ok()) << g;
  EXPECT_EQ(Generations("svc-1"), (std::vector<uint64_t>{1, 2, 3, 10}));
  ASSERT_TRUE(Activate("svc-1", 10).ok());
  ASSERT_TRUE(Retire("svc-1", 2).ok());
  EXPECT_EQ(Generations("svc-1"), (std::vector<uint64_t>{1, 3, 10}));
}

// The runtime verifies on its crypto pool while its file worker writes
// (engine/ports/credentials.h): ReadBack of one identity beside the batch
// methods of another, on two threads. make test-tsan runs it instrumented.
TEST_P(DeliverySinkContract, ReadBackRunsBesideBatchesOnAnotherThread) {
  const Material m = VersionMaterial(1);
  ASSERT_TRUE(Deliver("svc-read", 1, m).ok());
  ASSERT_TRUE(Activate("svc-read", 1).ok());
  constexpr uint64_t kVersions = 40;
  std::atomic<bool> writing{true};
  int reads = 0;
  int bad_reads = 0;
  std::thread reader([&] {
    while (writing.load() || reads == 0) {
      auto back = sink().ReadBack("svc-read", 1);
      ++reads;
      if (!back.ok() || !SameFiles(m, *back)) ++bad_reads;
    }
  });
  for (uint64_t g = 1; g <= kVersions; ++g) {
    EXPECT_TRUE(DeliverVersion("svc-write", g).ok()) << g;
    EXPECT_TRUE(Activate("svc-write", g).ok()) << g;
    if (g > 1) {
      EXPECT_TRUE(Retire("svc-write", g - 1).ok()) << g;
    }
  }
  writing = false;
  reader.join();
  EXPECT_EQ(bad_reads, 0) << "of " << reads << " reads";
  EXPECT_EQ(Current("svc-write"), kVersions);
  EXPECT_EQ(Generations("svc-write"), (std::vector<uint64_t>{kVersions}));
}

// --- FileDeliverySink only ---------------------------------------------------------

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "lstat " << path << " failed";
    return 0;
  }
  return st.st_mode;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << "create " << path;
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ASSERT_EQ(::fchmod(fd, mode), 0);
  ::close(fd);
}

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.insert(e.path().filename().string());
  return names;
}

class FileDeliverySinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/out";
    auto sink = FileDeliverySink::Open(root_);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
    elsewhere_ = dir_.path() + "/elsewhere";
    ASSERT_EQ(::mkdir(elsewhere_.c_str(), 0700), 0);
  }

  Status Deliver(const std::string& id, uint64_t generation, const Material& m) {
    std::vector<Status> r = sink_->Deliver({{id, generation, &m}});
    return r.size() == 1 ? r[0] : Internal("wrong result count");
  }
  Status DeliverCertificate(const std::string& id, uint64_t generation) {
    const Material m = CertificateMaterial(generation);
    return Deliver(id, generation, m);
  }
  std::string VersionDir(const std::string& id, uint64_t generation) {
    return root_ + "/" + id + "/versions/" + std::to_string(generation);
  }

  testing::TempDir dir_{"rotor-file-sink-test"};
  std::string root_;
  std::string elsewhere_;  // outside the sink's root: nothing may land here
  std::unique_ptr<FileDeliverySink> sink_;
};

TEST_F(FileDeliverySinkTest, DirectoriesAre0700AndFiles0600FromCreationEvenUnderAnOpenUmask) {
  const mode_t old_umask = ::umask(0);
  auto sink = FileDeliverySink::Open(dir_.path() + "/open-umask");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  const Material m = CertificateMaterial(1);
  std::vector<Status> r = (*sink)->Deliver({{"svc-1", 1, &m}});
  std::vector<Status> a = (*sink)->Activate({{"svc-1", 1}});
  ::umask(old_umask);
  ASSERT_TRUE(r[0].ok()) << r[0].ToString();
  ASSERT_TRUE(a[0].ok()) << a[0].ToString();

  const std::string root = dir_.path() + "/open-umask";
  for (const std::string& d : {root, root + "/svc-1", root + "/svc-1/versions", root + "/svc-1/versions/1"}) {
    const mode_t mode = ModeOf(d);
    EXPECT_TRUE(S_ISDIR(mode)) << d;
    EXPECT_EQ(mode & 07777, 0700u) << d;
  }
  EXPECT_EQ(Entries(root + "/svc-1/versions/1"), (std::set<std::string>{"cert.pem", "chain.pem", "key.pem"}));
  for (const char* f : {"cert.pem", "chain.pem", "key.pem"}) {
    const std::string path = root + "/svc-1/versions/1/" + f;
    const mode_t mode = ModeOf(path);
    EXPECT_TRUE(S_ISREG(mode)) << path;
    EXPECT_EQ(mode & 07777, 0600u) << path;
  }
  const std::string current = root + "/svc-1/current";
  EXPECT_TRUE(S_ISLNK(ModeOf(current)));
  EXPECT_EQ(fs::read_symlink(current).string(), "versions/1") << "a relative link: the tree can be moved";
}

TEST_F(FileDeliverySinkTest, PathsNameTheVersionDirectoryAndTheCurrentLink) {
  auto sink = FileDeliverySink::Open(dir_.path() + "/trailing//");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_EQ((*sink)->root(), dir_.path() + "/trailing");

  const DeliveredPaths p = sink_->Paths("svc-1", 7);
  EXPECT_EQ(p.version_dir, root_ + "/svc-1/versions/7");
  EXPECT_EQ(p.current_link, root_ + "/svc-1/current");

  ASSERT_TRUE(DeliverCertificate("svc-1", 7).ok());
  ASSERT_TRUE(sink_->Activate({{"svc-1", 7}})[0].ok());
  EXPECT_TRUE(fs::is_directory(p.version_dir));
  EXPECT_EQ(fs::canonical(p.current_link), fs::canonical(p.version_dir));
  std::ifstream in(p.current_link + "/cert.pem");
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, "-----BEGIN CERTIFICATE-----") << "consumers read through current";
}

TEST_F(FileDeliverySinkTest, ActivateOfUndeliveredVersionIsNotFound) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  EXPECT_EQ(sink_->Activate({{"svc-1", 2}})[0].code(), StatusCode::kNotFound);
  EXPECT_EQ(sink_->Activate({{"svc-other", 1}})[0].code(), StatusCode::kNotFound);
  // A version directory holding no file is not delivered either.
  ASSERT_EQ(::mkdir(VersionDir("svc-1", 3).c_str(), 0700), 0);
  EXPECT_EQ(sink_->Activate({{"svc-1", 3}})[0].code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::is_symlink(root_ + "/svc-1/current"));
}

TEST_F(FileDeliverySinkTest, ReadBackRefusesAFileWithAWiderMode) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  ASSERT_EQ(::chmod((VersionDir("svc-1", 1) + "/key.pem").c_str(), 0644), 0);
  auto back = sink_->ReadBack("svc-1", 1);
  EXPECT_EQ(back.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(back.status().message().find("key.pem"), std::string::npos) << back.status().ToString();
  EXPECT_NE(back.status().message().find("0644"), std::string::npos) << back.status().ToString();
  // A redelivery does not repair (or trust) it either.
  EXPECT_EQ(DeliverCertificate("svc-1", 1).code(), StatusCode::kFailedPrecondition);
}

TEST_F(FileDeliverySinkTest, ReadBackRefusesADirectoryWithAWiderMode) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  ASSERT_EQ(::chmod(VersionDir("svc-1", 1).c_str(), 0755), 0);
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(VersionDir("svc-1", 1).c_str(), 0700), 0);
  ASSERT_EQ(::chmod((root_ + "/svc-1/versions").c_str(), 0750), 0);
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(FileDeliverySinkTest, ReadBackRefusesAnEntryThatIsNoMaterialFileName) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  WriteFile(VersionDir("svc-1", 1) + "/BAD NAME", "x");
  auto back = sink_->ReadBack("svc-1", 1);
  EXPECT_EQ(back.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(back.status().message().find("BAD NAME"), std::string::npos) << back.status().ToString();
}

TEST_F(FileDeliverySinkTest, ReadBackRefusesASymlinkInTheVersion) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  const std::string outside = elsewhere_ + "/planted.pem";
  WriteFile(outside, "planted", 0600);
  ASSERT_EQ(::symlink(outside.c_str(), (VersionDir("svc-1", 1) + "/extra.pem").c_str()), 0);
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);

  // A material file itself replaced by a symlink to a private file.
  ASSERT_EQ(::unlink((VersionDir("svc-1", 1) + "/extra.pem").c_str()), 0);
  ASSERT_EQ(::unlink((VersionDir("svc-1", 1) + "/key.pem").c_str()), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (VersionDir("svc-1", 1) + "/key.pem").c_str()), 0);
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(FileDeliverySinkTest, ReadBackIgnoresALeftoverTemporary) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  WriteFile(VersionDir("svc-1", 1) + "/.cert.pem.tmp-xyz", "half a cert");
  auto back = sink_->ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameFiles(CertificateMaterial(1), *back));
}

TEST_F(FileDeliverySinkTest, RetriedDeliverCleansTheTemporaryOfAnInterruptedWrite) {
  // A crash while cert.pem (the first file) was being written: the version
  // directory holds only its temporary.
  ASSERT_EQ(::mkdir((root_ + "/svc-1").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root_ + "/svc-1/versions").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(VersionDir("svc-1", 1).c_str(), 0700), 0);
  WriteFile(VersionDir("svc-1", 1) + "/.cert.pem.tmp-xyz", "-----BEGIN CERT");
  auto partial = sink_->ReadBack("svc-1", 1);
  EXPECT_EQ(partial.status().code(), StatusCode::kNotFound) << "nothing delivered yet; the temporary is no entry";
  EXPECT_EQ(sink_->Activate({{"svc-1", 1}})[0].code(), StatusCode::kNotFound);

  const Material m = CertificateMaterial(1);
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());
  EXPECT_EQ(Entries(VersionDir("svc-1", 1)), (std::set<std::string>{"cert.pem", "chain.pem", "key.pem"}));
  auto back = sink_->ReadBack("svc-1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameFiles(m, *back));
}

TEST_F(FileDeliverySinkTest, RetriedDeliverCompletesAPartlyWrittenVersion) {
  // A crash after cert.pem was renamed into place, before chain.pem.
  Material first;
  first.push_back({"cert.pem", SecretBytes(std::string(CertificateMaterial(1)[1].bytes.view()))});
  ASSERT_TRUE(Deliver("svc-1", 1, first).ok());
  WriteFile(VersionDir("svc-1", 1) + "/.chain.pem.tmp-0123456789abcdef", "-----BEGIN");
  const Material m = CertificateMaterial(1);
  ASSERT_TRUE(Deliver("svc-1", 1, m).ok());
  EXPECT_EQ(Entries(VersionDir("svc-1", 1)), (std::set<std::string>{"cert.pem", "chain.pem", "key.pem"}));
}

TEST_F(FileDeliverySinkTest, InvalidFileNamesAreInvalidArgumentAndWriteNothing) {
  for (const std::string& bad : {std::string("../x"), std::string(".hidden"), std::string(""), std::string(65, 'a'),
                                 std::string("a/b"), std::string("Cert.pem"), std::string("sp ace")}) {
    Material m = CertificateMaterial(1);
    m.push_back({bad, SecretBytes(std::string("x"))});
    EXPECT_EQ(Deliver("svc-1", 1, m).code(), StatusCode::kInvalidArgument) << "\"" << bad << "\"";
  }
  EXPECT_EQ(Entries(root_), std::set<std::string>{}) << "validation comes before any write";
  EXPECT_EQ(Entries(dir_.path()), (std::set<std::string>{"elsewhere", "out"}));
  // 64 bytes is the longest valid name.
  Material m;
  m.push_back({std::string(64, 'a'), SecretBytes(std::string("x"))});
  EXPECT_TRUE(Deliver("svc-1", 1, m).ok());
}

TEST_F(FileDeliverySinkTest, EmptyMaterialAndEmptyFilesAreInvalidArgument) {
  const Material none;
  EXPECT_EQ(Deliver("svc-1", 1, none).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->Deliver({{"svc-1", 1, nullptr}})[0].code(), StatusCode::kInvalidArgument);
  Material empty_file;
  empty_file.push_back({"secret", SecretBytes()});
  EXPECT_EQ(Deliver("svc-1", 1, empty_file).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Entries(root_), std::set<std::string>{});
}

TEST_F(FileDeliverySinkTest, IdentityIdsThatAreNoDirectoryNameAreInvalidArgument) {
  const Material m = CertificateMaterial(1);
  for (const char* bad_id : {"../evil", "", ".", "..", "a/b", "sp ace"}) {
    const std::string bad = bad_id;
    EXPECT_EQ(Deliver(bad, 1, m).code(), StatusCode::kInvalidArgument) << "\"" << bad << "\"";
    EXPECT_EQ(sink_->ReadBack(bad, 1).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(sink_->Activate({{bad, 1}})[0].code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(sink_->Retire({{bad, 1}})[0].code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(sink_->Discard({{bad, 1, 0}})[0].code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(sink_->CurrentGeneration(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(sink_->ListGenerations(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Entries(dir_.path()), (std::set<std::string>{"elsewhere", "out"}));
  EXPECT_EQ(Entries(root_), std::set<std::string>{});
}

TEST_F(FileDeliverySinkTest, ASymlinkPlantedAtVersionsIsRefusedAndNothingLandsOutside) {
  ASSERT_EQ(::mkdir((root_ + "/svc-1").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(elsewhere_.c_str(), (root_ + "/svc-1/versions").c_str()), 0);

  EXPECT_EQ(DeliverCertificate("svc-1", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Entries(elsewhere_), std::set<std::string>{});

  // What the link points at looks like a delivered version: it must not be
  // read, activated or removed through the link.
  ASSERT_EQ(::mkdir((elsewhere_ + "/1").c_str(), 0700), 0);
  WriteFile(elsewhere_ + "/1/secret", "not rotor's");
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(sink_->Activate({{"svc-1", 1}})[0].ok());
  EXPECT_FALSE(sink_->Retire({{"svc-1", 1}})[0].ok());
  EXPECT_FALSE(sink_->Discard({{"svc-1", 1, 0}})[0].ok());
  EXPECT_FALSE(sink_->ListGenerations("svc-1").ok());
  EXPECT_EQ(Entries(elsewhere_ + "/1"), std::set<std::string>{"secret"});
  EXPECT_FALSE(fs::is_symlink(root_ + "/svc-1/current"));
}

TEST_F(FileDeliverySinkTest, ASymlinkPlantedAtTheIdentityDirectoryIsRefused) {
  ASSERT_EQ(::symlink(elsewhere_.c_str(), (root_ + "/svc-1").c_str()), 0);
  EXPECT_EQ(DeliverCertificate("svc-1", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_->ReadBack("svc-1", 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Entries(elsewhere_), std::set<std::string>{});
}

TEST_F(FileDeliverySinkTest, ASymlinkPlantedAtAGenerationIsRefusedAndRetireRemovesOnlyTheLink) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  ASSERT_TRUE(sink_->Activate({{"svc-1", 1}})[0].ok());
  ASSERT_EQ(::mkdir((elsewhere_ + "/2").c_str(), 0700), 0);
  WriteFile(elsewhere_ + "/2/secret", "not rotor's");
  ASSERT_EQ(::symlink((elsewhere_ + "/2").c_str(), VersionDir("svc-1", 2).c_str()), 0);

  EXPECT_EQ(DeliverCertificate("svc-1", 2).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_->ReadBack("svc-1", 2).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_->Activate({{"svc-1", 2}})[0].code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_->CurrentGeneration("svc-1").value(), 1u);
  EXPECT_TRUE(sink_->Retire({{"svc-1", 2}})[0].ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(VersionDir("svc-1", 2))));
  EXPECT_EQ(Entries(elsewhere_ + "/2"), std::set<std::string>{"secret"});
}

TEST_F(FileDeliverySinkTest, CurrentThatIsNoLinkIntoVersionsIsRefused) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 1).ok());
  ASSERT_EQ(::symlink("../../elsewhere", (root_ + "/svc-1/current").c_str()), 0);
  EXPECT_EQ(sink_->CurrentGeneration("svc-1").status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(sink_->Retire({{"svc-1", 1}})[0].ok()) << "which version is current is unknown";
  ASSERT_EQ(::unlink((root_ + "/svc-1/current").c_str()), 0);
  WriteFile(root_ + "/svc-1/current", "versions/1");
  EXPECT_EQ(sink_->CurrentGeneration("svc-1").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(FileDeliverySinkTest, ListGenerationsIgnoresEntriesThatAreNoGeneration) {
  ASSERT_TRUE(DeliverCertificate("svc-1", 2).ok());
  for (const char* name : {"007", "0", "tmp", "3x"}) {
    ASSERT_EQ(::mkdir((root_ + "/svc-1/versions/" + name).c_str(), 0700), 0) << name;
  }
  EXPECT_EQ(sink_->ListGenerations("svc-1").value(), std::vector<uint64_t>{2});
}

TEST_F(FileDeliverySinkTest, GenerationZeroIsInvalidArgumentEverywhere) {
  const Material m = CertificateMaterial(1);
  EXPECT_EQ(Deliver("svc-1", 0, m).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->ReadBack("svc-1", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->Activate({{"svc-1", 0}})[0].code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->Retire({{"svc-1", 0}})[0].code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->Discard({{"svc-1", 0, 0}})[0].code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rotor
