// Producer and consumer settings for the audit topic, and the check that
// refuses settings unsafe for an audit trail.
//
// The audit producer is idempotent with acks=all: a delivery report then means
// every in-sync replica has the event, and librdkafka's retries can neither
// duplicate nor reorder it within a partition. A setting that weakens either
// is refused with its name, not silently overridden.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace rotor {

inline constexpr char kDefaultAuditTopic[] = "rotor.audit";
inline constexpr char kKafkaSinkName[] = "kafka";

// One librdkafka property, as given with `-X name=value`.
using KafkaSetting = std::pair<std::string, std::string>;

// ParseKafkaSetting splits "name=value"; InvalidArgument names the text.
StatusOr<KafkaSetting> ParseKafkaSetting(const std::string& text);

// CheckAuditProducerSettings refuses acks other than all (-1) and
// enable.idempotence other than true, under any of librdkafka's spellings,
// and transactional.id (the relay does not run transactions).
Status CheckAuditProducerSettings(const std::vector<KafkaSetting>& settings);

// AuditProducerDefaults are the settings the relay starts from; user
// settings are applied after them (and checked first).
std::vector<KafkaSetting> AuditProducerDefaults();

}  // namespace rotor
