// engine/inventory: canonical serials and what users paste, classification
// under a renewal policy, key and chain linking, and the storage encoding.
#include "engine/inventory.h"

#include <gtest/gtest.h>

namespace rotor {
namespace {

TEST(CanonicalSerial, FromDerContent) {
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\x07\x27\x7f\x52", 4)), "07277f52");
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\x00\xff", 2)), "ff");      // required leading zero
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\x00\x00\x01", 3)), "01");  // non-minimal
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\xff", 1)), "-01");         // -1
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\xfb", 1)), "-05");         // -5
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\xff\x00", 2)), "-0100");   // -256
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\x80", 1)), "-80");         // -128
  EXPECT_EQ(CanonicalSerialFromDer(std::string("\x00", 1)), "00");
  EXPECT_EQ(CanonicalSerialFromDer(""), "00");
}

TEST(ParseSerial, AcceptsWhatUsersPaste) {
  for (const char* pasted : {"07:27:7f:52", "07:27:7F:52", "0x07277f52", "0X07277F52", "7277f52", "07 27 7f 52",
                             "  07277f52\n", "07-27-7f-52", "0007277f52"}) {
    auto s = ParseSerial(pasted);
    ASSERT_TRUE(s.ok()) << pasted << ": " << s.status().ToString();
    EXPECT_EQ(*s, "07277f52") << pasted;
  }
  EXPECT_EQ(*ParseSerial("-01"), "-01");
  EXPECT_EQ(*ParseSerial("-0x5"), "-05");
  EXPECT_EQ(*ParseSerial("0"), "00");
  EXPECT_EQ(*ParseSerial("-0"), "00");
}

TEST(ParseSerial, RefusesWhatIsNoSerial) {
  auto bad = ParseSerial("07:27:7g:52");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'g' at offset 7"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(ParseSerial("").ok());
  EXPECT_FALSE(ParseSerial("0x").ok());
  EXPECT_FALSE(ParseSerial("::").ok());
}

InventoryItem Cert(Instant not_before, Instant not_after) {
  InventoryItem it;
  it.type = ItemType::kCertificate;
  it.not_before = not_before;
  it.not_after = not_after;
  return it;
}

TEST(Classify, ByFractionAndByRenewBefore) {
  const Instant t0 = Instant::FromSeconds(1'700'000'000);
  const InventoryItem c = Cert(t0, t0 + Duration::Days(90));
  RenewalPolicy p;  // 2/3 of the lifetime: day 60
  EXPECT_EQ(Classify(c, t0 - Duration::Seconds(1), p), CertStatus::kNotYetValid);
  EXPECT_EQ(Classify(c, t0, p), CertStatus::kValid);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(59), p), CertStatus::kValid);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(60), p), CertStatus::kDue);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(90) - Duration::Seconds(1), p), CertStatus::kDue);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(90), p), CertStatus::kExpired);
  p.renew_before = Duration::Days(7);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(82), p), CertStatus::kValid);
  EXPECT_EQ(Classify(c, t0 + Duration::Days(83), p), CertStatus::kDue);
  // The jitter of a fleet policy does not apply to an inventory.
  p.renew_before.reset();
  p.jitter = 0.5;
  EXPECT_EQ(Classify(c, t0 + Duration::Days(59), p), CertStatus::kValid);
}

TEST(LinkInventory, KeysByPublicKeyAndIssuersByNameAndKeyId) {
  std::vector<InventoryItem> items(5);
  items[0] = Cert({}, {});  // leaf
  items[0].file = "leaf.pem";
  items[0].position = 1;
  items[0].fingerprint = "sha256:leaf";
  items[0].public_key_id = "sha256:k1";
  items[0].issuer_name_id = "sha256:inter-name";
  items[0].authority_key_identifier = "bb";
  items[1] = Cert({}, {});  // an intermediate of the same name but another key
  items[1].fingerprint = "sha256:other";
  items[1].subject_name_id = "sha256:inter-name";
  items[1].subject_key_identifier = "aa";
  items[2] = Cert({}, {});  // the issuing intermediate
  items[2].fingerprint = "sha256:inter";
  items[2].subject_name_id = "sha256:inter-name";
  items[2].subject_key_identifier = "bb";
  items[3].type = ItemType::kPrivateKey;  // the leaf's key
  items[3].file = "leaf.key";
  items[3].position = 2;
  items[3].public_key_id = "sha256:k1";
  items[4].type = ItemType::kPrivateKey;  // a key of no certificate
  items[4].public_key_id = "sha256:k9";
  LinkInventory(&items);
  EXPECT_EQ(items[0].key_location, "leaf.key:2");
  EXPECT_EQ(items[0].issuer_fingerprint, "sha256:inter");
  EXPECT_EQ(items[3].certificate_fingerprint, "sha256:leaf");
  EXPECT_EQ(items[4].certificate_fingerprint, "");
  EXPECT_EQ(items[1].key_location, "");
}

TEST(InventoryEncoding, RoundTripsEveryField) {
  InventoryItem it;
  it.file = "/etc/ssl/certs/ca-certificates.crt";
  it.position = 17;
  it.line = 420;
  it.type = ItemType::kCertificate;
  it.format = "pem";
  it.label = "CERTIFICATE";
  it.fingerprint = "sha256:ab";
  it.public_key_id = "sha256:cd";
  it.key_type = "p256";
  it.subject = "CN=r\xC3\xA9seau, O=A\\, B";
  it.dns_names = {"a.example", "b.example"};
  it.issuer = "CN=root";
  it.serial = "-05";
  it.not_before = Instant::FromSeconds(-100);
  it.not_after = kMaxInstant;
  it.is_ca = true;
  it.self_signed = true;
  it.subject_name_id = "sha256:1";
  it.issuer_name_id = "sha256:2";
  it.subject_key_identifier = "0a";
  it.authority_key_identifier = "0b";
  it.warnings = {"serial: negative"};
  it.key_location = "k.pem:1";
  it.issuer_fingerprint = "sha256:ab";
  auto back = DecodeInventoryItem(EncodeInventoryItem(it));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, it);
  EXPECT_FALSE(DecodeInventoryItem("{\"file\":1}").ok());
  EXPECT_FALSE(DecodeInventoryItem("[]").ok());
}

}  // namespace
}  // namespace rotor
