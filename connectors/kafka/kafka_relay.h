// KafkaRelay: drains a StateStore's audit outbox to a Kafka topic
// (ARCHITECTURE §5, §6) — the relay half of the transactional outbox.
//
// Each outbox entry becomes one message: value = the journal line, byte for
// byte; key = the event's subject (identity id), so an identity's events land
// in one partition in order. The producer is idempotent with acks=all
// (kafka_settings.h). The relay's durable position is the sink "kafka" in the
// store: the largest outbox seq such that it and every seq before it had a
// positive delivery report. It advances only then, so a crash or an outage
// loses nothing; events delivered but not yet recorded are sent again after a
// restart (at-least-once: consumers see them as duplicates of an event id).
//
// A failed delivery report (only possible with a finite message.timeout.ms or
// a non-retriable broker error) ends Run with an error instead of skipping the
// event; the caller restarts the relay, which resumes at the recorded position.
//
// Thread-safety: thread-compatible; Run on one thread. `stop` may be set from
// any thread. The StateStore must outlive the relay.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_settings.h"
#include "engine/ports/state_store.h"
#include "engine/status.h"

namespace rotor {

struct KafkaRelayOptions {
  std::string bootstrap;
  std::string topic = kDefaultAuditTopic;
  std::vector<KafkaSetting> settings;  // applied after AuditProducerDefaults()
  size_t max_in_flight = 100000;       // events read but not yet acknowledged
  size_t read_batch = 8192;            // outbox entries per read
  int position_interval_ms = 50;       // how often the position is recorded
  // Called after every recorded position with (position, events acknowledged so far).
  std::function<void(uint64_t, uint64_t)> on_position;
  // Log lines (librdkafka's warnings and errors, the relay's own messages).
  // Called from librdkafka's threads too: must be thread-safe.
  std::function<void(const std::string&)> log;
};

// CheckProducerConfig checks `settings` as Create would (the audit rules,
// then librdkafka's own checks of every property and their combination)
// without contacting a broker.
Status CheckProducerConfig(const std::vector<KafkaSetting>& settings);

class KafkaRelay {
 public:
  // Create checks the settings (refusing unsafe ones) and creates the
  // producer; it does not contact the brokers yet.
  static StatusOr<std::unique_ptr<KafkaRelay>> Create(StateStore& store, KafkaRelayOptions options);
  ~KafkaRelay();
  KafkaRelay(const KafkaRelay&) = delete;
  KafkaRelay& operator=(const KafkaRelay&) = delete;

  // Run ships outbox entries until `stop` is set (then waits up to
  // `drain_on_stop_ms` to ship what the outbox holds and collect the reports,
  // then records the position),
  // or, when `until_idle` is set, until the outbox holds nothing more and
  // every event read was acknowledged. Returns the first error: a failed
  // delivery, a fatal producer error, or a store error. Runs once per relay.
  Status Run(const std::atomic<bool>& stop, bool until_idle = false, int drain_on_stop_ms = 5000);

  uint64_t position() const { return position_; }
  uint64_t acknowledged() const { return acknowledged_; }

  // Internal: entry points of librdkafka's callbacks.
  void OnDelivery(void* slot, int err, const std::string& reason);
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

 private:
  struct Impl;
  KafkaRelay(StateStore& store, KafkaRelayOptions options);

  Status Fill(bool* read_any);
  void Advance();
  Status RecordPosition();

  StateStore& store_;
  const KafkaRelayOptions options_;
  std::unique_ptr<Impl> impl_;

  // Run state (one thread; OnDelivery is called from inside poll on it).
  uint64_t position_ = 0;   // recorded in the store
  uint64_t read_upto_ = 0;  // last seq handed to the producer
  uint64_t acknowledged_ = 0;
  std::string delivery_error_;  // the first failed delivery report
  bool ran_ = false;
};

}  // namespace rotor
