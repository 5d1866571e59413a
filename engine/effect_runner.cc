#include "engine/effect_runner.h"

namespace rotor {

Event FailedEvent(EffectType type, Status error) {
  Event e;
  e.type = EventType::kStepFailed;
  e.failed = type;
  e.error = std::move(error);
  return e;
}

namespace {

Event Success(EffectType type, const Effect& effect) {
  Event e;
  switch (type) {
    case EffectType::kDeliver: e.type = EventType::kDelivered; break;
    case EffectType::kVerify: e.type = EventType::kVerified; break;
    case EffectType::kActivate: e.type = EventType::kActivated; break;
    case EffectType::kDiscard: e.type = EventType::kDiscarded; break;
    case EffectType::kRetire: e.type = EventType::kVersionRetired; break;
    case EffectType::kGenerate: e.type = EventType::kGenerated; break;
  }
  e.generation = effect.version.generation;
  return e;
}

}  // namespace

std::map<std::string, std::string> EffectRunner::CommandEnv(const EffectJob& job) const {
  DeliveredPaths paths = ports_.sink->Paths(job.record.id, job.effect.version.generation);
  std::map<std::string, std::string> env = {
      {"ROTOR_IDENTITY", job.record.id},
      {"ROTOR_GROUP", job.record.group},
      {"ROTOR_KIND", CredentialKindName(job.record.kind)},
      {"ROTOR_GENERATION", std::to_string(job.effect.version.generation)},
      {"ROTOR_FINGERPRINT", job.effect.version.fingerprint},
      {"ROTOR_VERSION_DIR", paths.version_dir},
      {"ROTOR_CURRENT_LINK", paths.current_link},
  };
  if (job.record.kind == CredentialKind::kApiKey) {
    env["ROTOR_SECRET_PATH"] = paths.version_dir + "/secret";
  } else {
    env["ROTOR_CERT_PATH"] = paths.version_dir + "/cert.pem";
    env["ROTOR_CHAIN_PATH"] = paths.version_dir + "/chain.pem";
    env["ROTOR_KEY_PATH"] = paths.version_dir + "/key.pem";
  }
  return env;
}

std::vector<EffectOutcome> EffectRunner::Run(std::vector<EffectJob>& jobs) {
  std::vector<EffectOutcome> outs(jobs.size());
  std::map<EffectType, std::pair<std::vector<EffectJob*>, std::vector<EffectOutcome*>>> batches;
  for (size_t i = 0; i < jobs.size(); ++i) {
    EffectJob& job = jobs[i];
    const EffectType type = job.effect.type;
    if (ports_.faults) {
      Status s = ports_.faults->Before(job.record.id, type);
      if (!s.ok()) {
        outs[i].event = FailedEvent(type, s);
        outs[i].crashed = s.code() == StatusCode::kAborted;
        continue;
      }
    }
    if (type == EffectType::kGenerate) {
      outs[i] = Generate(job);
    } else if (type == EffectType::kVerify) {
      outs[i] = Verify(job);
    } else {
      batches[type].first.push_back(&job);
      batches[type].second.push_back(&outs[i]);
    }
  }
  for (auto& [type, batch] : batches) {
    if (type == EffectType::kDeliver) {
      Deliver(batch.first, batch.second);
    } else {
      FileBatch(type, batch.first, batch.second);
    }
  }
  if (ports_.faults) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (outs[i].crashed) continue;
      Status s = ports_.faults->After(jobs[i].record.id, jobs[i].effect.type);
      if (!s.ok()) {
        outs[i].event = FailedEvent(jobs[i].effect.type, s);
        outs[i].crashed = s.code() == StatusCode::kAborted;
        outs[i].candidate.reset();
      }
    }
  }
  return outs;
}

CredentialJob EffectRunner::JobFor(const EffectJob& job) const {
  CredentialJob cj;
  cj.record = &job.record;
  cj.version = &job.effect.version;
  cj.group = job.group;
  cj.now = ports_.clock->Now();
  return cj;
}

EffectOutcome EffectRunner::Generate(EffectJob& job) {
  EffectOutcome out;
  auto candidate = ports_.generator->Generate(JobFor(job));
  if (!candidate.ok()) {
    out.event = FailedEvent(EffectType::kGenerate, candidate.status());
    return out;
  }
  if (candidate->issued_at.micros == 0) candidate->issued_at = ports_.clock->Now();
  if (candidate->not_after.micros != 0 && candidate->not_after <= candidate->issued_at) {
    out.event = FailedEvent(EffectType::kGenerate, Internal("generated credential expires at or before its issuance (" +
                                                            FormatRfc3339(candidate->not_after) + ")"));
    return out;
  }
  out.event.type = EventType::kGenerated;
  out.event.issued_at = candidate->issued_at;
  out.event.not_after = candidate->not_after;
  out.event.fingerprint = candidate->fingerprint;
  out.event.generation = job.effect.version.generation;
  out.candidate = std::make_shared<Candidate>(std::move(candidate).value());
  return out;
}

void EffectRunner::Deliver(std::vector<EffectJob*>& jobs, std::vector<EffectOutcome*>& outs) {
  std::vector<DeliverySink::DeliverItem> items;
  std::vector<size_t> index;
  for (size_t i = 0; i < jobs.size(); ++i) {
    EffectJob& job = *jobs[i];
    if (!job.candidate || job.candidate->files.empty()) {
      // After a restart the material is gone: only a fresh candidate can proceed.
      outs[i]->event = FailedEvent(EffectType::kDeliver, PermissionDenied("candidate material is no longer available"));
      continue;
    }
    items.push_back({job.record.id, job.effect.version.generation, &job.candidate->files});
    index.push_back(i);
  }
  std::vector<Status> results = ports_.sink->Deliver(items);
  for (size_t k = 0; k < index.size(); ++k) {
    const size_t i = index[k];
    EffectJob& job = *jobs[i];
    Status s = k < results.size() ? results[k] : Internal("sink returned too few results");
    if (s.ok() && job.group && !job.group->hook.empty() && ports_.commands) {
      Status hook = ports_.commands->Run(job.group->hook, CommandEnv(job), job.group->command_timeout);
      if (!hook.ok()) s = Status(hook.code(), "hook: " + hook.message());
    }
    outs[i]->event = s.ok() ? Success(EffectType::kDeliver, job.effect) : FailedEvent(EffectType::kDeliver, s);
  }
}

EffectOutcome EffectRunner::Verify(EffectJob& job) {
  EffectOutcome out;
  const auto& v = job.effect.version;
  auto material = ports_.sink->ReadBack(job.record.id, v.generation);
  if (!material.ok()) {
    out.event = FailedEvent(EffectType::kVerify, material.status());
    return out;
  }
  if (Status s = ports_.generator->Check(JobFor(job), *material); !s.ok()) {
    out.event = FailedEvent(EffectType::kVerify, s);
    return out;
  }
  if (job.group && !job.group->verify_command.empty() && ports_.commands) {
    Status s = ports_.commands->Run(job.group->verify_command, CommandEnv(job), job.group->command_timeout);
    if (!s.ok()) {
      out.event = FailedEvent(EffectType::kVerify, Status(s.code(), "verify command: " + s.message()));
      return out;
    }
  }
  out.event = Success(EffectType::kVerify, job.effect);
  return out;
}

void EffectRunner::FileBatch(EffectType type, std::vector<EffectJob*>& jobs, std::vector<EffectOutcome*>& outs) {
  std::vector<Status> results;
  if (type == EffectType::kActivate || type == EffectType::kRetire) {
    std::vector<DeliverySink::ActivateItem> items;
    items.reserve(jobs.size());
    for (auto* job : jobs) items.push_back({job->record.id, job->effect.version.generation});
    results = type == EffectType::kActivate ? ports_.sink->Activate(items) : ports_.sink->Retire(items);
  } else {  // kDiscard
    std::vector<DeliverySink::DiscardItem> items;
    items.reserve(jobs.size());
    for (auto* job : jobs) {
      items.push_back(
          {job->record.id, job->effect.version.generation, job->effect.restore ? job->effect.restore->generation : 0});
    }
    results = ports_.sink->Discard(items);
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    Status s = i < results.size() ? results[i] : Internal("sink returned too few results");
    outs[i]->event = s.ok() ? Success(type, jobs[i]->effect) : FailedEvent(type, s);
  }
}

}  // namespace rotor
