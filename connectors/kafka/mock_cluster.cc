#include "connectors/kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

namespace rotor {

struct MockKafkaCluster::Impl {
  rd_kafka_t* handle = nullptr;  // the cluster needs an instance for its bookkeeping
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

MockKafkaCluster::MockKafkaCluster() : impl_(std::make_unique<Impl>()) {}

MockKafkaCluster::~MockKafkaCluster() {
  if (impl_->cluster) rd_kafka_mock_cluster_destroy(impl_->cluster);
  if (impl_->handle) rd_kafka_destroy(impl_->handle);
}

StatusOr<std::unique_ptr<MockKafkaCluster>> MockKafkaCluster::Start(int brokers, const std::string& topic,
                                                                    int partitions) {
  if (brokers < 1 || brokers > 16) return InvalidArgument("mock cluster: brokers must be 1 to 16");
  if (!topic.empty() && (partitions < 1 || partitions > 1000)) {
    return InvalidArgument("mock cluster: partitions must be 1 to 1000");
  }
  std::unique_ptr<MockKafkaCluster> mock(new MockKafkaCluster());
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("mock cluster: ") + err);
  }
  mock->impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (mock->impl_->handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("mock cluster: cannot create its librdkafka instance: ") + err);
  }
  mock->impl_->cluster = rd_kafka_mock_cluster_new(mock->impl_->handle, brokers);
  if (mock->impl_->cluster == nullptr) return Unavailable("mock cluster: cannot start the brokers");
  mock->brokers_ = brokers;
  mock->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock->impl_->cluster);
  if (!topic.empty()) ROTOR_RETURN_IF_ERROR(mock->CreateTopic(topic, partitions));
  return mock;
}

Status MockKafkaCluster::CreateTopic(const std::string& topic, int partitions) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, std::min(brokers_, 3));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("mock cluster: cannot create topic " + topic + ": " + rd_kafka_err2str(err));
  }
  return Status::Ok();
}

Status MockKafkaCluster::SetDown(int id) {
  if (id != -1 && (id < 1 || id > brokers_)) {
    return InvalidArgument("no broker " + std::to_string(id) + " (1 to " + std::to_string(brokers_) + ")");
  }
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(impl_->cluster, id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable(std::string("broker down: ") + rd_kafka_err2str(err));
  return Status::Ok();
}

Status MockKafkaCluster::SetUp(int id) {
  if (id != -1 && (id < 1 || id > brokers_)) {
    return InvalidArgument("no broker " + std::to_string(id) + " (1 to " + std::to_string(brokers_) + ")");
  }
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(impl_->cluster, id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable(std::string("broker up: ") + rd_kafka_err2str(err));
  return Status::Ok();
}

}  // namespace rotor
