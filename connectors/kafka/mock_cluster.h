// MockKafkaCluster: librdkafka's mock cluster (rdkafka_mock.h), a
// Kafka-protocol broker set on loopback TCP for local runs and tests
// (ARCHITECTURE §8). It supports the idempotent producer, consumer groups,
// and taking brokers down and up. It keeps at most 5 MiB (or 100,000 message
// sets) per partition and nothing across restarts: size tests to fit.
//
// Thread-safety: every method may be called from any thread (librdkafka
// serialises them onto the cluster's own thread).
#pragma once

#include <memory>
#include <string>

#include "engine/status.h"

namespace rotor {

class MockKafkaCluster {
 public:
  // Start creates `brokers` brokers and, when `topic` is not empty, the topic
  // with `partitions` partitions (replication factor min(brokers, 3)).
  static StatusOr<std::unique_ptr<MockKafkaCluster>> Start(int brokers, const std::string& topic, int partitions);
  ~MockKafkaCluster();
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  // bootstrap is "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  int brokers() const { return brokers_; }

  // SetDown disconnects broker `id` (1..brokers, or -1 for all) and refuses
  // new connections; SetUp accepts them again. Leadership does not move.
  Status SetDown(int id);
  Status SetUp(int id);
  // CreateTopic adds a topic with `partitions` partitions.
  Status CreateTopic(const std::string& topic, int partitions);

 private:
  struct Impl;
  MockKafkaCluster();
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
  int brokers_ = 0;
};

}  // namespace rotor
