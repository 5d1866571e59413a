// connectors/kafka: the relay refuses producer settings that would weaken the
// audit stream (acks other than all, idempotence off, transactions), under
// every spelling librdkafka accepts, and librdkafka itself checks the rest.
#include "connectors/kafka/kafka_settings.h"

#include <gtest/gtest.h>

#include "connectors/kafka/kafka_relay.h"

namespace rotor {
namespace {

TEST(KafkaSettingsTest, ParsesNameEqualsValue) {
  auto s = ParseKafkaSetting("security.protocol=ssl");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->first, "security.protocol");
  EXPECT_EQ(s->second, "ssl");
  auto with_eq = ParseKafkaSetting("sasl.password=a=b");
  ASSERT_TRUE(with_eq.ok());
  EXPECT_EQ(with_eq->second, "a=b");
  EXPECT_FALSE(ParseKafkaSetting("acks").ok());
  EXPECT_FALSE(ParseKafkaSetting("=1").ok());
}

TEST(KafkaSettingsTest, RefusesWeakAcksUnderEverySpelling) {
  for (const char* name : {"acks", "request.required.acks", "topic.request.required.acks"}) {
    for (const char* value : {"0", "1", "leader"}) {
      Status s = CheckAuditProducerSettings({{name, value}});
      EXPECT_FALSE(s.ok()) << name << "=" << value;
      EXPECT_NE(s.message().find(std::string(name) + "=" + value), std::string::npos) << s.message();
    }
    EXPECT_TRUE(CheckAuditProducerSettings({{name, "all"}}).ok());
    EXPECT_TRUE(CheckAuditProducerSettings({{name, "-1"}}).ok());
  }
}

TEST(KafkaSettingsTest, RefusesIdempotenceOffAndTransactions) {
  EXPECT_FALSE(CheckAuditProducerSettings({{"enable.idempotence", "false"}}).ok());
  EXPECT_TRUE(CheckAuditProducerSettings({{"enable.idempotence", "true"}}).ok());
  EXPECT_FALSE(CheckAuditProducerSettings({{"transactional.id", "x"}}).ok());
}

TEST(KafkaSettingsTest, DefaultsAreSafe) {
  EXPECT_TRUE(CheckAuditProducerSettings(AuditProducerDefaults()).ok());
  EXPECT_TRUE(CheckProducerConfig({}).ok());
}

TEST(KafkaSettingsTest, LibrdkafkaChecksTheRest) {
  // Idempotence caps in-flight requests at 5: librdkafka refuses the combination.
  Status s = CheckProducerConfig({{"max.in.flight.requests.per.connection", "10"}});
  EXPECT_FALSE(s.ok());
  Status unknown = CheckProducerConfig({{"no.such.property", "1"}});
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("no.such.property"), std::string::npos) << unknown.message();
}

}  // namespace
}  // namespace rotor
