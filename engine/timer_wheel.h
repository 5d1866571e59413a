// TimerWheel: a hierarchical timing wheel of due instants (ARCHITECTURE §4).
//
// A shard keeps one for the next-due instants of its resting identities.
// Insert and Cancel are O(1); EarliestDue is O(kLevels) unless the earliest
// entry of a slot was cancelled since the last call; PopDue costs O(1) per entry it fires or moves
// down a level (an entry moves down at most kLevels - 1 times) plus O(kLevels)
// per non-empty slot it reaches: per-level occupancy bitmaps let it skip empty
// stretches of time, so jumping a virtual clock by a year costs no more than
// jumping it by a second.
//
// Time is counted in ticks of `resolution_micros`. An entry due at `d` fires at
// the first PopDue(now) with floor(now / resolution) >= ceil(d / resolution):
// never before `d`, at most one tick after it. Entries due before the wheel's
// position (a tick already popped) fire at the next PopDue, whatever its `now`. Levels hold 64 slots each; level k
// holds entries whose tick first differs from the wheel's position in the k-th group of six bits, the rest (beyond
// 64^kLevels ticks: 139 years at 1 ms) wait in an overflow list.
//
// Nodes live in one vector and are linked into circular per-slot lists by
// 32-bit indices (a node is 24 bytes for a 32-bit payload, 32 for a pointer).
// A Handle stays valid until its entry fires or is cancelled. Thread-compatible.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace rotor {

template <typename T>
class TimerWheel {
  static_assert(std::is_trivially_copyable_v<T>, "TimerWheel payloads are small values (an index, a pointer)");

 public:
  using Handle = uint32_t;
  static constexpr Handle kNoHandle = std::numeric_limits<uint32_t>::max();

  struct Fired {
    int64_t due_micros;
    T payload;
  };

  // `resolution_micros` > 0; `start_micros` is the wheel's first position.
  explicit TimerWheel(int64_t resolution_micros = 1000, int64_t start_micros = 0)
      : resolution_(resolution_micros > 0 ? resolution_micros : 1),
        cur_(start_micros > 0 ? static_cast<uint64_t>(start_micros / resolution_) : 0) {
    nodes_.resize(kSentinels);
    for (uint32_t i = 0; i < kSentinels; ++i) {
      nodes_[i].next = nodes_[i].prev = i;
      nodes_[i].slot = static_cast<uint16_t>(i);
    }
  }

  // Insert schedules `payload` at `due_micros` and returns its handle.
  Handle Insert(int64_t due_micros, T payload) {
    uint32_t n;
    if (free_ != kNoHandle) {
      n = free_;
      free_ = nodes_[n].next;
    } else {
      n = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[n].due = due_micros;
    nodes_[n].payload = payload;
    Place(n);
    ++size_;
    return n;
  }

  // Cancel removes a pending entry. `h` must come from Insert and must not
  // have fired or been cancelled.
  void Cancel(Handle h) {
    Unlink(h);
    Free(h);
    --size_;
  }

  // DueOf returns the due instant of a pending entry.
  int64_t DueOf(Handle h) const { return nodes_[h].due; }

  // PopDue removes every entry due at `now_micros` (see the header comment)
  // and appends it to `out`, in tick order (entries of one tick in no
  // particular order). Returns how many it appended.
  size_t PopDue(int64_t now_micros, std::vector<Fired>* out) {
    if (now_micros < 0) return 0;
    const uint64_t target = static_cast<uint64_t>(now_micros / resolution_);
    const size_t before = out->size();
    FireList(kLate, out);
    while (cur_ <= target) {
      ProcessTick(out);
      if (cur_ == std::numeric_limits<uint64_t>::max()) break;
      const uint64_t next = NextBusyTick(cur_ + 1);
      cur_ = next <= target ? next : target + 1;
    }
    return out->size() - before;
  }

  // EarliestDue returns the earliest due instant of any entry, or nothing when
  // empty. Each slot caches its minimum; a cache is recomputed (one pass over
  // its list) only after the entry holding it was cancelled.
  std::optional<int64_t> EarliestDue() const {
    std::optional<int64_t> best;
    auto consider = [&](uint32_t sentinel) {
      if (nodes_[sentinel].next == sentinel) return;
      const int64_t m = SlotMin(sentinel);
      if (!best || m < *best) best = m;
    };
    for (int k = 0; k < kLevels; ++k) {
      if (bitmap_[k]) consider(static_cast<uint32_t>(k * kSlots + std::countr_zero(bitmap_[k])));
    }
    consider(kOverflow);
    consider(kLate);
    return best;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // MemoryBytes: the heap held by the node vector (capacity, not size).
  size_t MemoryBytes() const { return nodes_.capacity() * sizeof(Node); }

 private:
  static constexpr int kBits = 6;
  static constexpr int kSlots = 1 << kBits;
  static constexpr int kLevels = 7;
  static constexpr uint32_t kOverflow = kLevels * kSlots;  // sentinel of the far-future list
  static constexpr uint32_t kLate = kOverflow + 1;         // sentinel of entries inserted in the past
  static constexpr uint32_t kSentinels = kLate + 1;
  static constexpr uint16_t kFreeSlot = 0xffff;

  struct Node {
    int64_t due = 0;
    T payload{};
    uint32_t next = 0;
    uint32_t prev = 0;
    uint16_t slot = kFreeSlot;  // the sentinel index of the list holding it
  };

  uint64_t TickOf(int64_t due) const {
    if (due <= 0) return 0;
    const uint64_t d = static_cast<uint64_t>(due);
    const uint64_t r = static_cast<uint64_t>(resolution_);
    return d / r + (d % r != 0 ? 1 : 0);
  }

  void Place(uint32_t n) {
    const uint64_t t = TickOf(nodes_[n].due);
    if (t < cur_) return Link(kLate, n);
    const uint64_t diff = t ^ cur_;
    uint32_t sentinel;
    if (diff == 0) {
      sentinel = static_cast<uint32_t>(t & (kSlots - 1));
    } else {
      const int level = (63 - std::countl_zero(diff)) / kBits;
      if (level >= kLevels) {
        sentinel = kOverflow;
      } else {
        sentinel = static_cast<uint32_t>(level * kSlots + ((t >> (level * kBits)) & (kSlots - 1)));
      }
    }
    Link(sentinel, n);
  }

  int64_t SlotMin(uint32_t sentinel) const {
    if (min_stale_[sentinel]) {
      int64_t m = std::numeric_limits<int64_t>::max();
      for (uint32_t n = nodes_[sentinel].next; n != sentinel; n = nodes_[n].next) m = std::min(m, nodes_[n].due);
      slot_min_[sentinel] = m;
      min_stale_[sentinel] = false;
    }
    return slot_min_[sentinel];
  }

  void ClearSlot(uint32_t sentinel) {
    nodes_[sentinel].next = nodes_[sentinel].prev = sentinel;
    slot_min_[sentinel] = std::numeric_limits<int64_t>::max();
    min_stale_[sentinel] = false;
    if (sentinel < kOverflow) bitmap_[sentinel / kSlots] &= ~(uint64_t{1} << (sentinel % kSlots));
  }

  void Link(uint32_t sentinel, uint32_t n) {
    Node& s = nodes_[sentinel];
    Node& node = nodes_[n];
    if (node.due < slot_min_[sentinel]) slot_min_[sentinel] = node.due;
    node.slot = static_cast<uint16_t>(sentinel);
    node.prev = sentinel;
    node.next = s.next;
    nodes_[s.next].prev = n;
    s.next = n;
    if (sentinel < kOverflow) bitmap_[sentinel / kSlots] |= uint64_t{1} << (sentinel % kSlots);
  }

  void Unlink(uint32_t n) {
    Node& node = nodes_[n];
    nodes_[node.prev].next = node.next;
    nodes_[node.next].prev = node.prev;
    const uint32_t sentinel = node.slot;
    if (nodes_[sentinel].next == sentinel) {
      ClearSlot(sentinel);
    } else if (node.due == slot_min_[sentinel]) {
      min_stale_[sentinel] = true;
    }
  }

  void Free(uint32_t n) {
    nodes_[n].slot = kFreeSlot;
    nodes_[n].next = free_;
    free_ = n;
  }

  // Moves every entry of one list to where it belongs from cur_.
  void Replace(uint32_t sentinel) {
    uint32_t n = nodes_[sentinel].next;
    ClearSlot(sentinel);
    while (n != sentinel) {
      const uint32_t next = nodes_[n].next;
      Place(n);
      n = next;
    }
  }

  // Handles tick cur_: moves down the slots that start at it, then fires the
  // level-0 slot of cur_.
  void ProcessTick(std::vector<Fired>* out) {
    constexpr uint64_t kTopMask = (uint64_t{1} << (kLevels * kBits)) - 1;
    if ((cur_ & kTopMask) == 0 && nodes_[kOverflow].next != kOverflow) Replace(kOverflow);
    for (int k = kLevels - 1; k >= 1; --k) {
      const uint64_t low_mask = (uint64_t{1} << (k * kBits)) - 1;
      if ((cur_ & low_mask) != 0) continue;
      const uint32_t slot = static_cast<uint32_t>((cur_ >> (k * kBits)) & (kSlots - 1));
      if (bitmap_[k] & (uint64_t{1} << slot)) Replace(static_cast<uint32_t>(k * kSlots) + slot);
    }
    const uint32_t sentinel = static_cast<uint32_t>(cur_ & (kSlots - 1));
    if (bitmap_[0] & (uint64_t{1} << sentinel)) FireList(sentinel, out);
  }

  // Fires every entry of one list.
  void FireList(uint32_t sentinel, std::vector<Fired>* out) {
    uint32_t n = nodes_[sentinel].next;
    ClearSlot(sentinel);
    while (n != sentinel) {
      const uint32_t next = nodes_[n].next;
      out->push_back(Fired{nodes_[n].due, nodes_[n].payload});
      Free(n);
      --size_;
      n = next;
    }
  }

  // NextBusyTick returns the first tick >= `from` at which ProcessTick has
  // work, assuming every tick before `from` has been processed; the maximum
  // tick when there is none.
  uint64_t NextBusyTick(uint64_t from) const {
    uint64_t best = std::numeric_limits<uint64_t>::max();
    for (int k = 0; k < kLevels; ++k) {
      const int shift = k * kBits;
      const uint32_t digit = static_cast<uint32_t>((from >> shift) & (kSlots - 1));
      // At level k >= 1 the slot of `from` itself matters only when `from`
      // starts it (nothing has been moved down from it yet).
      const bool at_start = k == 0 || (from & ((uint64_t{1} << shift) - 1)) == 0;
      const uint64_t mask = bitmap_[k] & (~uint64_t{0} << digit) & (at_start ? ~uint64_t{0} : ~(uint64_t{1} << digit));
      if (!mask) continue;
      const uint64_t slot = static_cast<uint64_t>(std::countr_zero(mask));
      const uint64_t block = (from >> (shift + kBits)) << (shift + kBits);
      uint64_t tick = block | (slot << shift);
      if (tick < from) tick = from;
      if (tick < best) best = tick;
    }
    if (nodes_[kOverflow].next != kOverflow) {
      constexpr int kTop = kLevels * kBits;
      const uint64_t top_start = (from >> kTop) << kTop;
      const uint64_t tick = top_start == from ? from : top_start + (uint64_t{1} << kTop);
      if (tick < best) best = tick;
    }
    return best;
  }

  // Constant after construction.
  const int64_t resolution_;
  // The first tick not yet processed.
  uint64_t cur_;
  std::vector<Node> nodes_;  // sentinels first, then entries and free nodes
  uint64_t bitmap_[kLevels] = {};
  // The minimum due of each list, stale while its flag is set (the entry
  // holding it was cancelled); recomputed on demand by EarliestDue.
  mutable std::vector<int64_t> slot_min_ = std::vector<int64_t>(kSentinels, std::numeric_limits<int64_t>::max());
  mutable std::vector<bool> min_stale_ = std::vector<bool>(kSentinels, false);
  uint32_t free_ = kNoHandle;
  size_t size_ = 0;
};

}  // namespace rotor
