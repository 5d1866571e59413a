// app/disk_estimate: the disk a fleet's next rotation needs, and the start-up
// refusal when the file system of the data directory cannot hold it.
#include "app/disk_estimate.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/fleet.h"

namespace rotor::app {
namespace {

FleetSpec Fleet(size_t api_keys, size_t certificates) {
  FleetSpec fleet;
  GroupSpec keys;
  keys.name = "keys";
  for (size_t i = 0; i < api_keys; ++i) keys.identities.push_back("key-" + std::to_string(i));
  GroupSpec certs;
  certs.name = "certs";
  certs.kind = CredentialKind::kX509;
  for (size_t i = 0; i < certificates; ++i) certs.identities.push_back("cert-" + std::to_string(i));
  fleet.groups = {keys, certs};
  return fleet;
}

TEST(DiskEstimateTest, SumsEventsVersionsAndNewRecords) {
  const DiskEstimate e = EstimateDisk(Fleet(1000, 10), /*new_identities=*/400);
  EXPECT_EQ(e.store_bytes, 400u * 1024);
  EXPECT_EQ(e.journal_bytes, 1010u * 6 * 640);
  EXPECT_EQ(e.delivery_bytes, 1000u * 8 * 1024 + 10u * 20 * 1024);
  EXPECT_EQ(e.total(), e.store_bytes + e.journal_bytes + e.delivery_bytes);
  EXPECT_EQ(EstimateDisk(FleetSpec{}, 0).total(), 0u);
}

TEST(DiskEstimateTest, AMillionApiKeysNeedAboutThirteenGigabytes) {
  // The figure the operator guide quotes.
  const DiskEstimate e = EstimateDisk(Fleet(1'000'000, 0), 1'000'000);
  EXPECT_EQ(HumanBytes(e.total()), "13.1 GB");
}

TEST(DiskEstimateTest, RefusalNamesTheEstimateItsPartsAndWhatIsFree) {
  const DiskEstimate e = EstimateDisk(Fleet(20, 0), 20);
  Status s = CheckFreeSpace("/data", e, /*free_override=*/100000);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "not enough disk in /data: the next rotation of this fleet needs about 261.1 kB (store 20.5 kB, audit "
            "journal 76.8 kB, delivered versions 163.8 kB) but 100.0 kB is free; free some space or move the data "
            "directory, nothing was started");
  EXPECT_TRUE(CheckFreeSpace("/data", e, e.total()).ok());
}

TEST(DiskEstimateTest, MeasuresTheRealFileSystem) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp ? tmp : "/tmp";
  EXPECT_TRUE(CheckFreeSpace(dir, DiskEstimate{1, 1, 1}).ok());
  // No disk here holds an exabyte.
  Status s = CheckFreeSpace(dir, DiskEstimate{0, uint64_t{1} << 60, 0});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("needs about 1.2 EB"), std::string::npos) << s.message();
  Status missing = CheckFreeSpace("/nonexistent/rotor-data", DiskEstimate{1, 0, 0});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("/nonexistent/rotor-data"), std::string::npos);
}

TEST(DiskEstimateTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanBytes(1'500'000), "1.5 MB");
  EXPECT_EQ(HumanBytes(uint64_t{13} * 1000 * 1000 * 1000), "13.0 GB");
}

}  // namespace
}  // namespace rotor::app
