#include "connectors/kafka/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <set>

namespace rotor {
namespace {

// Handle owns a consumer and closes it on every path.
class Consumer {
 public:
  explicit Consumer(rd_kafka_t* rk) : rk_(rk) {}
  ~Consumer() {
    if (rk_ == nullptr) return;
    rd_kafka_assign(rk_, nullptr);
    rd_kafka_destroy(rk_);
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  rd_kafka_t* get() const { return rk_; }

 private:
  rd_kafka_t* rk_;
};

StatusOr<std::vector<int32_t>> Partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (handle == nullptr)
    return InvalidArgument("Kafka topic " + topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, timeout_ms);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("cannot read the metadata of Kafka topic " + topic + ": " + rd_kafka_err2str(err));
  }
  std::vector<int32_t> partitions;
  Status status;
  if (metadata->topic_cnt != 1) {
    status = NotFound("Kafka topic " + topic + " not found");
  } else if (metadata->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    status = NotFound("Kafka topic " + topic + " does not exist");
  } else if (metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = Unavailable("Kafka topic " + topic + ": " + rd_kafka_err2str(metadata->topics[0].err));
  } else {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (!status.ok()) return status;
  if (partitions.empty()) return NotFound("Kafka topic " + topic + " has no partitions");
  return partitions;
}

}  // namespace

Status ReadAuditTopic(const KafkaReadOptions& options, const std::atomic<bool>& stop,
                      const std::function<bool(const KafkaRecord&)>& fn) {
  if (options.bootstrap.empty()) return InvalidArgument("no Kafka bootstrap servers given");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<KafkaSetting> all = {
      {"group.id", "rotor-audit-reader"},  // required by librdkafka; offsets are never committed
      {"enable.auto.commit", "false"},    {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},   {"log_level", "3"},
  };
  all.insert(all.end(), options.settings.begin(), options.settings.end());
  all.emplace_back("bootstrap.servers", options.bootstrap);
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgument("Kafka setting " + name + "=" + value + ": " + err);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgument(std::string("cannot create the Kafka consumer: ") + err);
  }
  Consumer consumer(rk);
  ROTOR_ASSIGN_OR_RETURN(std::vector<int32_t> partitions, Partitions(rk, options.topic, options.metadata_timeout_ms));

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list, options.topic.c_str(), p)->offset =
        options.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  }
  rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("cannot assign the partitions of " + options.topic + ": " + rd_kafka_err2str(assigned));
  }

  std::set<int32_t> at_end;
  while (!stop.load()) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(message->partition);
      rd_kafka_message_destroy(message);
      if (options.stop_at_end && at_end.size() == partitions.size()) return Status::Ok();
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string what = rd_kafka_message_errstr(message);
      const bool fatal = message->err == RD_KAFKA_RESP_ERR__FATAL ||
                         message->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                         message->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      rd_kafka_message_destroy(message);
      if (fatal) return Unavailable("reading " + options.topic + ": " + what);
      continue;  // transient (a broker down): librdkafka reconnects
    }
    KafkaRecord record;
    record.partition = message->partition;
    record.offset = message->offset;
    record.key = {static_cast<const char*>(message->key), message->key_len};
    record.value = {static_cast<const char*>(message->payload), message->len};
    const bool more = fn(record);
    rd_kafka_message_destroy(message);
    if (!more) return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace rotor
