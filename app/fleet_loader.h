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

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Closest returns the candidate within two edits of `word` (the closest; the
// first of equals), or nullopt: what a misspelling most likely meant.
std::optional<std::string> Closest(std::string_view word, const std::vector<std::string>& candidates);

// DidYouMean returns " (did you mean "x"?)" for Closest(word, candidates), or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// UnknownPolicyMessage says that no group of `fleet` (read from `config`)
// uses the policy `name`, with the closest name meant and every name that is
// used: the message of `--policy` in rotor import --adopt and inventory.
std::string UnknownPolicyMessage(const FleetSpec& fleet, const std::string& config, const std::string& name);

}  // namespace rotor
