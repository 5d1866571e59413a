// `rotor audit tail --kafka` and `rotor audit verify --kafka`: rotor-relay
// reads the topic (rotor never loads librdkafka, ARCHITECTURE §5) and prints
// one event per line; rotor reads its output and, for verify, checks the
// chains with the journal's ChainVerifier (engine/audit_stream.h).
#pragma once

#include <string>
#include <vector>

namespace rotor::app {

struct KafkaAuditOptions {
  std::string bootstrap;
  std::string topic = "rotor.audit";
  std::vector<std::string> settings;  // librdkafka name=value for the consumer
  std::string subject;                // tail: only this identity
  bool from_beginning = false;        // tail: start at the oldest event kept
  bool follow = true;                 // tail: keep waiting for new events
  bool json = false;                  // verify: machine-readable result
};

// RunAuditTail prints events as they arrive (until Ctrl-C, or the end of the
// topic without follow). Exit codes as the CLI's.
int RunAuditTail(const KafkaAuditOptions& options);
// RunAuditVerifyKafka reads the whole topic and prints the counts of events,
// duplicates, gaps and breaks; exit 0 when there are no gaps and no breaks.
int RunAuditVerifyKafka(const KafkaAuditOptions& options);

}  // namespace rotor::app
