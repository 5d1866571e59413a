// InventoryStore: what `rotor import` found, kept for `rotor inventory`.
//
// One entry per credential (InventoryKey: its type and fingerprint), so
// importing the same file twice, or a bundle and the single files it was made
// of, keeps one entry each. An import run is one Put: all of it lands or none
// of it (a crash or Ctrl-C leaves the inventory as before). Implementation:
// LmdbInventoryStore (connectors/embedded). Thread-safety: any method from
// any thread.
#pragma once

#include <functional>
#include <vector>

#include "engine/inventory.h"
#include "engine/status.h"

namespace rotor {

class InventoryStore {
 public:
  virtual ~InventoryStore() = default;

  // Put writes every item in one transaction, replacing entries of the same
  // InventoryKey. Items of type kError or kOther are refused (InvalidArgument)
  // before anything is written.
  virtual Status Put(const std::vector<InventoryItem>& items) = 0;
  // ForEach calls `fn` for every entry in key order; stops when fn returns false.
  virtual Status ForEach(const std::function<bool(const InventoryItem&)>& fn) = 0;
};

}  // namespace rotor
