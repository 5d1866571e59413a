// `rotor import --adopt --config FILE --policy NAME [--dry-run] PATH...`:
// existing leaf certificates (with their private keys) taken over as managed
// identities (engine/adoption.h), and the fleet as the daemon loads it — the
// fleet file plus the identities adopted into the data directory.
//
// Adoption refuses to run while a daemon holds the data directory: it writes
// generation 1 of each identity into out/ and its record, declaration and
// identity.adopted event into the store in one transaction, and both are the
// daemon's while it runs. Stop the daemon, adopt, start it again.
#pragma once

#include <string>
#include <vector>

#include "app/inventory.h"
#include "engine/adoption.h"
#include "engine/fleet.h"
#include "engine/ports/state_store.h"

namespace rotor::app {

// RunAdopt scans `options.paths`, prints one decision per certificate and,
// unless options.dry_run, adopts the adoptable ones in one store transaction
// (and imports everything into the inventory as `rotor import` does). Exit 0
// when nothing was refused, 1 when some certificate was (the rest are
// adopted), 2 on bad flags, 3 when the data directory is held by a daemon or
// unusable.
int RunAdopt(const ImportOptions& options);

// LoadAdopted returns every adopted declaration of `store`.
StatusOr<std::vector<AdoptedIdentity>> LoadAdopted(StateStore& store);

// LoadFleetWithAdopted loads the fleet file at `config` and merges the
// identities adopted into `store` (MergeAdopted). Warnings (an adopted
// policy the file no longer has) are appended to `warnings`.
StatusOr<FleetSpec> LoadFleetWithAdopted(const std::string& config, StateStore& store, Instant now,
                                         std::vector<std::string>* warnings);

}  // namespace rotor::app
