#include "connectors/kafka/kafka_relay.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>

#include "engine/decimal.h"
#include "engine/json.h"

namespace rotor {

// One event read from the outbox and handed to the producer.
struct Slot {
  uint64_t seq = 0;
  bool delivered = false;
};

struct KafkaRelay::Impl {
  rd_kafka_t* producer = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  std::deque<Slot> window;  // in seq order; the front is the oldest unacknowledged
};

namespace {

// The message's opaque is its Slot in the window: a deque keeps the address
// of an element while others are added at the back or removed at the front.
void DeliveryReport(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* opaque) {
  auto* relay = static_cast<KafkaRelay*>(opaque);
  relay->OnDelivery(message->_private, message->err, message->err ? rd_kafka_err2str(message->err) : "");
}

void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto* relay = static_cast<const KafkaRelay*>(rd_kafka_opaque(rk));
  if (relay == nullptr) return;
  const char* severity = level <= 3 ? "error" : level == 4 ? "warning" : "info";
  relay->Log(std::string("librdkafka ") + severity + " " + facility + ": " + text);
}

// SubjectOf returns the top-level "subject" of a journal line, or "" when the
// line is not an event (it is shipped all the same; consumers see the break).
std::string SubjectOf(std::string_view line) {
  auto parsed = ParseJson(line);
  if (!parsed.ok() || !parsed->is_object()) return "";
  const JsonValue* subject = parsed->Find("subject");
  return subject && subject->is_string() ? subject->as_string() : "";
}

// NewProducerConf builds the producer configuration: the defaults, then
// `settings`, then bootstrap.servers. The caller owns the result.
StatusOr<rd_kafka_conf_t*> NewProducerConf(const std::vector<KafkaSetting>& settings, const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::vector<KafkaSetting> all = AuditProducerDefaults();
  all.insert(all.end(), settings.begin(), settings.end());
  all.emplace_back("bootstrap.servers", bootstrap);
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgument("Kafka setting " + name + "=" + value + ": " + err);
    }
  }
  return conf;
}

}  // namespace

Status CheckProducerConfig(const std::vector<KafkaSetting>& settings) {
  ROTOR_RETURN_IF_ERROR(CheckAuditProducerSettings(settings));
  ROTOR_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, NewProducerConf(settings, "127.0.0.1:9"));
  char err[512];
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgument(std::string("Kafka producer settings refused: ") + err);
  }
  rd_kafka_destroy(producer);
  return Status::Ok();
}

KafkaRelay::KafkaRelay(StateStore& store, KafkaRelayOptions options)
    : store_(store), options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

KafkaRelay::~KafkaRelay() {
  if (impl_->topic) rd_kafka_topic_destroy(impl_->topic);
  if (impl_->producer) {
    // Whatever is unacknowledged is sent again from the recorded position.
    rd_kafka_purge(impl_->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(impl_->producer, 0);
    rd_kafka_destroy(impl_->producer);
  }
}

StatusOr<std::unique_ptr<KafkaRelay>> KafkaRelay::Create(StateStore& store, KafkaRelayOptions options) {
  if (options.bootstrap.empty()) return InvalidArgument("no Kafka bootstrap servers given");
  if (options.topic.empty()) return InvalidArgument("empty Kafka topic name");
  if (options.max_in_flight == 0 || options.read_batch == 0) {
    return InvalidArgument("max_in_flight and read_batch must be positive");
  }
  ROTOR_RETURN_IF_ERROR(CheckAuditProducerSettings(options.settings));
  std::unique_ptr<KafkaRelay> relay(new KafkaRelay(store, std::move(options)));
  const KafkaRelayOptions& opt = relay->options_;

  ROTOR_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, NewProducerConf(opt.settings, opt.bootstrap));
  char err[512];
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryReport);
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rd_kafka_conf_set_opaque(conf, relay.get());
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only on success
    return InvalidArgument(std::string("cannot create the Kafka producer: ") + err);
  }
  relay->impl_->producer = producer;
  relay->impl_->topic = rd_kafka_topic_new(producer, opt.topic.c_str(), nullptr);
  if (relay->impl_->topic == nullptr) {
    return InvalidArgument("Kafka topic " + opt.topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
  }
  return relay;
}

void KafkaRelay::OnDelivery(void* slot_ptr, int err, const std::string& reason) {
  auto* slot = static_cast<Slot*>(slot_ptr);
  if (err != 0) {
    if (delivery_error_.empty()) {
      delivery_error_ = "delivery of outbox entry " + std::to_string(slot->seq) + " to topic " + options_.topic +
                        " failed: " + reason;
    }
    return;
  }
  if (!slot->delivered) {
    slot->delivered = true;
    ++acknowledged_;
  }
}

Status KafkaRelay::Fill(bool* read_any) {
  *read_any = false;
  auto& window = impl_->window;
  if (window.size() >= options_.max_in_flight) return Status::Ok();
  const size_t room = std::min(options_.read_batch, options_.max_in_flight - window.size());
  ROTOR_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, store_.ReadOutbox(read_upto_, room));
  if (!entries.empty() && read_upto_ == position_ && position_ != 0 && entries.front().seq != position_ + 1) {
    // The outbox was trimmed past what Kafka has: those events are only in
    // the local journal now. Say so loudly; shipping the rest loses no more.
    if (options_.log) {
      options_.log("outbox entries " + std::to_string(position_ + 1) + " to " +
                   std::to_string(entries.front().seq - 1) +
                   " were trimmed before Kafka had them (was the daemon run without --kafka?); they are only in "
                   "the local journal");
    }
  }
  for (OutboxEntry& entry : entries) {
    const std::string subject = SubjectOf(entry.line);
    if (subject.empty() && options_.log) {
      options_.log("outbox entry " + std::to_string(entry.seq) +
                   " is not an audit event with a subject; shipped "
                   "without a key");
    }
    window.push_back({entry.seq, false});
    Slot* slot = &window.back();
    for (;;) {
      // rd_kafka_produce rather than producev: the latter's macros are GNU
      // statement expressions. The key picks the partition (partitioner).
      const int rc_produce =
          rd_kafka_produce(impl_->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, entry.line.data(),
                           entry.line.size(), subject.empty() ? nullptr : subject.data(), subject.size(), slot);
      const rd_kafka_resp_err_t rc = rc_produce == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error();
      if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (rc == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(impl_->producer, 10);  // serve reports to make room
        Advance();
        continue;
      }
      window.pop_back();
      return Unavailable("cannot queue outbox entry " + std::to_string(entry.seq) + " for topic " + options_.topic +
                         ": " + rd_kafka_err2str(rc));
    }
    read_upto_ = entry.seq;
    *read_any = true;
  }
  return Status::Ok();
}

void KafkaRelay::Advance() {
  auto& window = impl_->window;
  while (!window.empty() && window.front().delivered) window.pop_front();
}

Status KafkaRelay::RecordPosition() {
  const auto& window = impl_->window;
  const uint64_t acked = window.empty() ? read_upto_ : window.front().seq - 1;
  if (acked <= position_) return Status::Ok();
  ROTOR_RETURN_IF_ERROR(store_.SetSinkPosition(kKafkaSinkName, std::to_string(acked)));
  position_ = acked;
  if (options_.on_position) options_.on_position(position_, acknowledged_);
  return Status::Ok();
}

Status KafkaRelay::Run(const std::atomic<bool>& stop, bool until_idle, int drain_on_stop_ms) {
  // Outstanding messages point into the window: a second Run would clear it under them.
  if (ran_) return FailedPrecondition("KafkaRelay::Run runs once per relay");
  ran_ = true;
  auto recorded = store_.GetSinkPosition(kKafkaSinkName);
  if (recorded.ok()) {
    auto seq = ParseDecimal(recorded->substr(0, recorded->find(' ')));
    if (!seq) return DataLoss("the kafka sink position \"" + *recorded + "\" in the store is malformed");
    position_ = *seq;
  } else if (recorded.status().code() == StatusCode::kNotFound) {
    position_ = 0;
  } else {
    return recorded.status();
  }
  read_upto_ = position_;
  using Clock = std::chrono::steady_clock;
  auto last_record = Clock::now();
  while (!stop.load()) {
    bool read_any = false;
    ROTOR_RETURN_IF_ERROR(Fill(&read_any));
    // Block briefly only when there is nothing new to read.
    rd_kafka_poll(impl_->producer, read_any ? 0 : 20);
    Advance();
    if (!delivery_error_.empty()) {
      (void)RecordPosition();  // keep what did arrive
      return Unavailable(delivery_error_);
    }
    char fatal[512];
    if (rd_kafka_resp_err_t code = rd_kafka_fatal_error(impl_->producer, fatal, sizeof fatal)) {
      (void)RecordPosition();
      return Internal(std::string("fatal Kafka producer error (") + rd_kafka_err2name(code) + "): " + fatal);
    }
    const auto now = Clock::now();
    if (now - last_record >= std::chrono::milliseconds(options_.position_interval_ms) || impl_->window.empty()) {
      ROTOR_RETURN_IF_ERROR(RecordPosition());
      last_record = now;
    }
    if (until_idle && !read_any && impl_->window.empty()) return Status::Ok();
  }
  // Stopping (the daemon stops the relay after its last commit): ship what
  // the outbox still holds and wait for the reports, for a bounded time;
  // whatever is left goes at the next start.
  const auto deadline = Clock::now() + std::chrono::milliseconds(drain_on_stop_ms);
  while (Clock::now() < deadline && delivery_error_.empty()) {
    bool read_any = false;
    ROTOR_RETURN_IF_ERROR(Fill(&read_any));
    rd_kafka_poll(impl_->producer, read_any ? 0 : 20);
    Advance();
    if (!read_any && impl_->window.empty()) break;
  }
  return RecordPosition();
}

}  // namespace rotor
