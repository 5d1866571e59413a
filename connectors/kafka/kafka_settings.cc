#include "connectors/kafka/kafka_settings.h"

namespace rotor {

StatusOr<KafkaSetting> ParseKafkaSetting(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("Kafka setting \"" + text + "\" is not name=value");
  }
  return KafkaSetting{text.substr(0, eq), text.substr(eq + 1)};
}

Status CheckAuditProducerSettings(const std::vector<KafkaSetting>& settings) {
  for (const auto& [name, value] : settings) {
    if (name == "acks" || name == "request.required.acks" || name == "topic.request.required.acks") {
      if (value != "all" && value != "-1") {
        return InvalidArgument("refusing " + name + "=" + value +
                               " for the audit topic: an event counts as shipped only when every in-sync replica "
                               "has it (acks=all)");
      }
    } else if (name == "enable.idempotence") {
      if (value != "true") {
        return InvalidArgument("refusing enable.idempotence=" + value +
                               " for the audit topic: without it a retry can duplicate or reorder an identity's "
                               "events");
      }
    } else if (name == "transactional.id") {
      return InvalidArgument("refusing transactional.id: the relay is an idempotent producer, not a transactional one");
    }
  }
  return Status::Ok();
}

std::vector<KafkaSetting> AuditProducerDefaults() {
  return {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // Never give up on an event: during an outage the relay keeps what it
      // read queued and librdkafka retries until the brokers return. Its
      // position advances only on positive delivery reports.
      {"message.timeout.ms", "0"},
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "200000"},
      {"queue.buffering.max.kbytes", "262144"},
      // The key (identity id) picks the partition: one identity, one
      // partition, so its events stay in order. murmur2_random is the Java
      // client's partitioner, so other producers of the topic agree with it.
      {"partitioner", "murmur2_random"},
      {"log_level", "4"},  // warnings and errors; the relay logs its own progress
  };
}

}  // namespace rotor
