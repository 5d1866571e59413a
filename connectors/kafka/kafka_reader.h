// KafkaAuditReader: reads the audit topic back, partition by partition, for
// `rotor audit tail` and `rotor audit verify --kafka` (run by rotor-relay on
// the CLI's behalf; ARCHITECTURE §5).
//
// It assigns every partition of the topic directly (no consumer group, no
// committed offsets: reading the audit trail never changes anyone's
// position). Within a partition messages arrive in offset order, which is an
// identity's event order because the relay keys by identity.
//
// Thread-safety: thread-compatible; one thread calls Read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_settings.h"
#include "engine/status.h"

namespace rotor {

struct KafkaRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
};

struct KafkaReadOptions {
  std::string bootstrap;
  std::string topic = kDefaultAuditTopic;
  std::vector<KafkaSetting> settings;  // e.g. security.protocol=ssl
  bool from_beginning = true;          // false: only records written from now on
  bool stop_at_end = true;             // stop once every partition reached its end
  int metadata_timeout_ms = 10000;     // to find the topic's partitions
};

// ReadAuditTopic calls `fn` for every record until the end of every partition
// (stop_at_end), `stop` is set, or fn returns false. NotFound when the topic
// does not exist; Unavailable when the brokers cannot be reached in time.
Status ReadAuditTopic(const KafkaReadOptions& options, const std::atomic<bool>& stop,
                      const std::function<bool(const KafkaRecord&)>& fn);

}  // namespace rotor
