#include "tests/support/fake_delivery_sink.h"

namespace rotor::testing {

Status FakeDeliverySink::Fault(EffectType op, const std::string& id, uint64_t generation) {
  FaultFn fault;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_[op]++;
    auto& queue = scripted_[op];
    if (!queue.empty()) {
      Status s = queue.front();
      queue.pop_front();
      return s;
    }
    fault = fault_;
  }
  if (fault) return fault(op, id, generation);
  return Status::Ok();
}

std::vector<Status> FakeDeliverySink::Deliver(const std::vector<DeliverItem>& items) {
  std::vector<Status> out;
  for (const auto& item : items) {
    Status s = Fault(EffectType::kDeliver, item.id, item.generation);
    if (s.ok()) {
      if (item.generation == 0) {
        s = InvalidArgument("deliver: generation 0");
      } else if (item.files == nullptr || item.files->size() != 1) {
        s = InvalidArgument("deliver: the fake sink holds exactly one file per version");
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        files_[item.id].generations[item.generation] = std::string(item.files->front().bytes.view());
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Status> FakeDeliverySink::Activate(const std::vector<ActivateItem>& items) {
  std::vector<Status> out;
  for (const auto& item : items) {
    Status s = Fault(EffectType::kActivate, item.id, item.generation);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      Files& f = files_[item.id];
      if (!f.generations.count(item.generation)) {
        s = FailedPrecondition("activate " + item.id + " generation " + std::to_string(item.generation) +
                               ": not delivered");
      } else {
        f.current = item.generation;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Status> FakeDeliverySink::Discard(const std::vector<DiscardItem>& items) {
  std::vector<Status> out;
  for (const auto& item : items) {
    Status s = Fault(EffectType::kDiscard, item.id, item.generation);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      Files& f = files_[item.id];
      if (item.restore_generation != 0 && !f.generations.count(item.restore_generation)) {
        s = FailedPrecondition("discard " + item.id + ": restore generation " +
                               std::to_string(item.restore_generation) + " is not on disk");
      } else if (item.restore_generation == item.generation) {
        s = FailedPrecondition("discard " + item.id + ": restoring the discarded generation");
      } else {
        f.generations.erase(item.generation);
        f.current = item.restore_generation;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Status> FakeDeliverySink::Retire(const std::vector<ActivateItem>& items) {
  std::vector<Status> out;
  for (const auto& item : items) {
    Status s = Fault(EffectType::kRetire, item.id, item.generation);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      Files& f = files_[item.id];
      if (f.current == item.generation && item.generation != 0) {
        s = FailedPrecondition("retire " + item.id + " generation " + std::to_string(item.generation) +
                               ": it is current");
      } else {
        f.generations.erase(item.generation);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

DeliveredPaths FakeDeliverySink::Paths(const std::string& id, uint64_t generation) const {
  DeliveredPaths p;
  p.version_dir = "mem://" + id + "/versions/" + std::to_string(generation);
  p.current_link = "mem://" + id + "/current";
  return p;
}

StatusOr<Material> FakeDeliverySink::ReadBack(const std::string& id, uint64_t generation) {
  Status s = Fault(EffectType::kVerify, id, generation);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it == files_.end() || !it->second.generations.count(generation)) {
    return NotFound("read back " + id + " generation " + std::to_string(generation) + ": not delivered");
  }
  Material m;
  m.push_back({"secret", SecretBytes(it->second.generations.at(generation))});
  return m;
}

StatusOr<uint64_t> FakeDeliverySink::CurrentGeneration(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  return it == files_.end() ? uint64_t{0} : it->second.current;
}

StatusOr<std::vector<uint64_t>> FakeDeliverySink::ListGenerations(const std::string& id) {
  std::vector<uint64_t> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(id);
  if (it != files_.end()) {
    for (const auto& [g, material] : it->second.generations) out.push_back(g);
  }
  return out;
}

void FakeDeliverySink::FailNext(EffectType op, Status error, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) scripted_[op].push_back(error);
}

void FakeDeliverySink::SetFault(FaultFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = std::move(fn);
}

void FakeDeliverySink::Tamper(const std::string& id, uint64_t generation, std::string material) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[id].generations[generation] = std::move(material);
}

int FakeDeliverySink::calls(EffectType op) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

}  // namespace rotor::testing
