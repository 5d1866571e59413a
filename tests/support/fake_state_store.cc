#include "tests/support/fake_state_store.h"

#include <algorithm>

namespace rotor::testing {

Status FakeStateStore::Commit(const std::vector<StoreWrite>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!commit_failures_.empty()) {
    Status s = commit_failures_.front();
    commit_failures_.pop_front();
    return s;
  }
  for (const auto& w : batch) {
    if (w.record.id.empty()) return InvalidArgument("commit: record without an id");
  }
  for (const auto& w : batch) {
    records_[w.record.id] = EncodeRecord(w.record);
    if (w.adopted) adopted_[w.adopted->id] = EncodeAdoptedIdentity(*w.adopted);
    if (!w.audit_line.empty()) {
      outbox_.push_back(OutboxEntry{next_outbox_seq_++, w.audit_line});
      lines_.push_back(w.audit_line);
    }
  }
  ++commits_;
  return Status::Ok();
}

StatusOr<RotationRecord> FakeStateStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return NotFound("no record for " + id);
  return DecodeRecord(it->second);
}

Status FakeStateStore::ForEach(const std::function<bool(const RotationRecord&)>& fn) {
  std::vector<std::string> encoded;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, bytes] : records_) encoded.push_back(bytes);
  }
  for (const auto& bytes : encoded) {
    auto r = DecodeRecord(bytes);
    if (!r.ok()) return DataLoss("stored record does not decode: " + r.status().message());
    if (!fn(*r)) break;
  }
  return Status::Ok();
}

Status FakeStateStore::ForEachAdopted(const std::function<bool(const AdoptedIdentity&)>& fn) {
  std::vector<std::string> encoded;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, bytes] : adopted_) encoded.push_back(bytes);
  }
  for (const auto& bytes : encoded) {
    auto a = DecodeAdoptedIdentity(bytes);
    if (!a.ok()) return DataLoss("stored adopted identity does not decode: " + a.status().message());
    if (!fn(*a)) break;
  }
  return Status::Ok();
}

StatusOr<uint64_t> FakeStateStore::Count() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<uint64_t>(records_.size());
}

StatusOr<std::vector<OutboxEntry>> FakeStateStore::ReadOutbox(uint64_t after, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OutboxEntry> out;
  for (const auto& e : outbox_) {
    if (out.size() >= max) break;
    if (e.seq > after) out.push_back(e);
  }
  return out;
}

Status FakeStateStore::TrimOutbox(uint64_t upto) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!outbox_.empty() && outbox_.front().seq <= upto) outbox_.pop_front();
  return Status::Ok();
}

StatusOr<std::string> FakeStateStore::GetSinkPosition(const std::string& sink) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = positions_.find(sink);
  if (it == positions_.end()) return std::string();
  return it->second;
}

Status FakeStateStore::SetSinkPosition(const std::string& sink, const std::string& position) {
  std::lock_guard<std::mutex> lock(mu_);
  positions_[sink] = position;
  return Status::Ok();
}

Status FakeStateStore::EnqueueCommand(const QueuedCommand& command) {
  std::lock_guard<std::mutex> lock(mu_);
  QueuedCommand c = command;
  c.seq = next_command_seq_++;
  commands_.push_back(std::move(c));
  return Status::Ok();
}

StatusOr<std::vector<QueuedCommand>> FakeStateStore::TakeCommands() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<QueuedCommand> out;
  out.swap(commands_);
  return out;
}

void FakeStateStore::FailNextCommits(Status error, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) commit_failures_.push_back(error);
}

std::vector<std::string> FakeStateStore::lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

uint64_t FakeStateStore::commits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commits_;
}

}  // namespace rotor::testing
