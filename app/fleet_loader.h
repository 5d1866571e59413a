// Fleet files: the YAML a user writes to declare identities, groups and
// policies (schema in examples/README.md), parsed into an engine FleetSpec.
//
// The loader is the only place rotor reads YAML. It validates everything the
// engine would otherwise trip over later — unknown keys, types, durations,
// policies (through ValidatePolicy), identity ids and their uniqueness — and
// reports the first problem as InvalidArgument "<file>:<line>:<col>: <what>"
// (1-based). It returns a complete FleetSpec or an error, never a part of one,
// and no exception escapes it.
//
// Stateless; safe to call from several threads at once.
#pragma once

#include <string>
#include <string_view>

#include "engine/fleet.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

// kMaxFleetIdentities bounds one group's `count` and the whole fleet.
inline constexpr int64_t kMaxFleetIdentities = 10'000'000;

// LoadFleetFile reads and parses the fleet file at `path`; `now` is the instant
// policies are validated against (a lifetime must not carry an expiry past
// kMaxInstant). Fails with InvalidArgument naming `path` when the file is
// missing, unreadable, not a regular file or larger than 256 MiB.
StatusOr<FleetSpec> LoadFleetFile(const std::string& path, Instant now);

// ParseFleet parses fleet YAML held in memory; `source_name` stands for the
// file in error messages.
StatusOr<FleetSpec> ParseFleet(std::string_view yaml_text, const std::string& source_name, Instant now);

}  // namespace rotor
