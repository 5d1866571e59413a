// The compact in-memory form of a resting identity (ARCHITECTURE §4).
//
// A shard holds every identity that is not rotating as one of these strings
// instead of a RotationRecord (352 bytes before its strings): varints,
// instants as deltas from next_due, and "sha256:<hex>" fingerprints and hex
// chain hashes as their 32 raw bytes. The id is not stored (the shard keys
// its table by it). An API-key identity with one current version packs into
// about 110 bytes plus its group name.
//
// This is a memory format only, never persisted: the store keeps EncodeRecord's
// versioned form. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "engine/model.h"
#include "engine/status.h"

namespace rotor {

// PackResting returns the compact form of `record` without its id.
std::string PackResting(const RotationRecord& record);

// UnpackResting rebuilds the record packed by PackResting and gives it `id`.
// Fails with InvalidArgument on malformed input, never reading past `packed`.
StatusOr<RotationRecord> UnpackResting(std::string_view id, std::string_view packed);

}  // namespace rotor
