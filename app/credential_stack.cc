#include "app/credential_stack.h"

#include <sys/stat.h>

#include <cstdlib>

#include "connectors/crypto/x509.h"

namespace rotor::app {

// Router: one CredentialGenerator, dispatching by the record's kind.
class CredentialStack::Router final : public CredentialGenerator {
 public:
  explicit Router(CredentialStack* stack) : stack_(stack) {}

  StatusOr<Candidate> Generate(const CredentialJob& job) override {
    ROTOR_ASSIGN_OR_RETURN(CredentialGenerator * g, For(job.record->kind));
    return g->Generate(job);
  }
  Status Check(const CredentialJob& job, const Material& delivered) override {
    ROTOR_ASSIGN_OR_RETURN(CredentialGenerator * g, For(job.record->kind));
    return g->Check(job, delivered);
  }

 private:
  StatusOr<CredentialGenerator*> For(CredentialKind kind) {
    switch (kind) {
      case CredentialKind::kApiKey: return &stack_->api_keys_;
      case CredentialKind::kX509:
        if (stack_->certificates_) return stack_->certificates_.get();
        break;
      case CredentialKind::kCaIntermediate:
        if (stack_->intermediates_) return stack_->intermediates_.get();
        break;
    }
    return FailedPrecondition(std::string("no managed CA is configured for credentials of kind ") +
                              CredentialKindName(kind));
  }

  CredentialStack* stack_;
};

// Sink: one DeliverySink; the CA's intermediate goes to <data-dir>/ca, the
// rest to <data-dir>/out. Items keep their order in the results.
class CredentialStack::Sink final : public DeliverySink {
 public:
  explicit Sink(CredentialStack* stack) : stack_(stack) {}

  std::vector<Status> Deliver(const std::vector<DeliverItem>& items) override {
    return Split(items, [](DeliverySink& s, const std::vector<DeliverItem>& part) { return s.Deliver(part); });
  }
  std::vector<Status> Activate(const std::vector<ActivateItem>& items) override {
    return Split(items, [](DeliverySink& s, const std::vector<ActivateItem>& part) { return s.Activate(part); });
  }
  std::vector<Status> Discard(const std::vector<DiscardItem>& items) override {
    return Split(items, [](DeliverySink& s, const std::vector<DiscardItem>& part) { return s.Discard(part); });
  }
  std::vector<Status> Retire(const std::vector<ActivateItem>& items) override {
    return Split(items, [](DeliverySink& s, const std::vector<ActivateItem>& part) { return s.Retire(part); });
  }
  DeliveredPaths Paths(const std::string& id, uint64_t generation) const override {
    return For(id).Paths(id, generation);
  }
  StatusOr<Material> ReadBack(const std::string& id, uint64_t generation) override {
    return For(id).ReadBack(id, generation);
  }
  StatusOr<uint64_t> CurrentGeneration(const std::string& id) override { return For(id).CurrentGeneration(id); }
  StatusOr<std::vector<uint64_t>> ListGenerations(const std::string& id) override {
    return For(id).ListGenerations(id);
  }

 private:
  bool IsCa(const std::string& id) const { return id == kCaIdentityId && stack_->ca_files_ != nullptr; }
  DeliverySink& For(const std::string& id) const {
    return IsCa(id) ? static_cast<DeliverySink&>(*stack_->ca_files_) : *stack_->out_;
  }

  template <class Item, class Fn>
  std::vector<Status> Split(const std::vector<Item>& items, Fn fn) {
    std::vector<Item> leaves;
    std::vector<Item> ca;
    std::vector<bool> is_ca(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      is_ca[i] = IsCa(items[i].id);
      (is_ca[i] ? ca : leaves).push_back(items[i]);
    }
    std::vector<Status> leaf_results = leaves.empty() ? std::vector<Status>{} : fn(*stack_->out_, leaves);
    std::vector<Status> ca_results;
    if (!ca.empty()) {
      ca_results = fn(*stack_->ca_files_, ca);
      // The bundle follows every change to the intermediates; if it cannot be
      // rewritten, the change is reported failed (retried: all idempotent).
      if (Status s = stack_->RefreshCa(); !s.ok()) {
        for (Status& r : ca_results) {
          if (r.ok()) r = Unavailable("trust bundle: " + s.message());
        }
      }
    }
    std::vector<Status> out;
    out.reserve(items.size());
    size_t li = 0;
    size_t ci = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::vector<Status>& from = is_ca[i] ? ca_results : leaf_results;
      size_t& k = is_ca[i] ? ci : li;
      out.push_back(k < from.size() ? from[k] : Internal("sink returned too few results"));
      ++k;
    }
    return out;
  }

  CredentialStack* stack_;
};

CredentialStack::~CredentialStack() = default;

CredentialGenerator* CredentialStack::generator() {
  return router_.get();
}

DeliverySink* CredentialStack::sink() {
  return sink_.get();
}

Status CredentialStack::RefreshCa() {
  if (!ca_) return Status::Ok();
  return ca_->Refresh(*ca_files_);
}

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string ConfigDir(const std::string& config) {
  const size_t slash = config.rfind('/');
  return slash == std::string::npos ? "." : config.substr(0, slash == 0 ? 1 : slash);
}

std::string ResolveIn(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

StatusOr<KeyEncryptionKey> ResolveKek(const std::string& data_dir, const std::string& kek_file, bool create) {
  if (!kek_file.empty()) return KeyEncryptionKey::LoadFile(kek_file);
  if (const char* file = std::getenv("ROTOR_KEK_FILE"); file && *file) return KeyEncryptionKey::LoadFile(file);
  if (const char* text = std::getenv("ROTOR_KEK"); text && *text) {
    auto kek = KeyEncryptionKey::FromText(text);
    if (!kek.ok()) return InvalidArgument("ROTOR_KEK: " + kek.status().message());
    return kek;
  }
  const std::string path = data_dir + "/kek";
  if (Exists(path) || !create) return KeyEncryptionKey::LoadFile(path);
  return KeyEncryptionKey::CreateFile(path);
}

StatusOr<std::unique_ptr<CredentialStack>> CredentialStack::Open(const Options& options) {
  std::unique_ptr<CredentialStack> stack(new CredentialStack());
  ROTOR_ASSIGN_OR_RETURN(stack->out_, FileDeliverySink::Open(options.data_dir + "/out"));
  const std::string ca_dir = options.data_dir + "/ca";
  const bool needs_ca = (options.fleet && options.fleet->NeedsCa()) || Exists(ca_dir + "/ca.pem");
  if (needs_ca) {
    const CaSpec spec = options.fleet ? options.fleet->ca : CaSpec{};
    CaSpec resolved = spec;
    resolved.import_cert = ResolveIn(options.config_dir, spec.import_cert);
    resolved.import_key = ResolveIn(options.config_dir, spec.import_key);
    auto kek = ResolveKek(options.data_dir, ResolveIn(options.config_dir, spec.kek_file), options.create);
    if (!kek.ok()) return Status(kek.status().code(), "key-encryption key: " + kek.status().message());
    auto ca = ManagedCa::Open(ca_dir, resolved, std::move(kek).value(), options.create);
    if (!ca.ok()) return Status(ca.status().code(), "managed CA: " + ca.status().message());
    stack->ca_ = std::move(ca).value();
    ROTOR_ASSIGN_OR_RETURN(stack->ca_files_, FileDeliverySink::Open(ca_dir));
    stack->certificates_ = std::make_unique<X509Generator>(stack->ca_.get());
    stack->intermediates_ = std::make_unique<CaIntermediateGenerator>(stack->ca_.get());
  }
  stack->router_ = std::make_unique<Router>(stack.get());
  stack->sink_ = std::make_unique<Sink>(stack.get());
  if (stack->ca_) {
    if (Status s = stack->RefreshCa(); !s.ok()) return Status(s.code(), "managed CA: " + s.message());
  }
  return stack;
}

StatusOr<std::unique_ptr<CredentialStack>> CredentialStack::OpenForReading(const std::string& data_dir) {
  std::unique_ptr<CredentialStack> stack(new CredentialStack());
  using RootMode = FileDeliverySink::RootMode;
  ROTOR_ASSIGN_OR_RETURN(stack->out_, FileDeliverySink::Open(data_dir + "/out", RootMode::kMustExist));
  if (Exists(data_dir + "/ca/ca.pem")) {
    ROTOR_ASSIGN_OR_RETURN(stack->ca_files_, FileDeliverySink::Open(data_dir + "/ca", RootMode::kMustExist));
  }
  stack->router_ = std::make_unique<Router>(stack.get());
  stack->sink_ = std::make_unique<Sink>(stack.get());
  return stack;
}

StatusOr<std::string> DeliveredFingerprint(CredentialKind kind, const Material& material, const Hasher& hasher) {
  const MaterialFile* primary = FindFile(material, PrimaryFileName(kind));
  if (primary == nullptr) return NotFound(std::string("no ") + PrimaryFileName(kind) + " delivered");
  if (kind == CredentialKind::kApiKey) return "sha256:" + HexSha256(hasher, primary->bytes.view());
  auto certs = x509::ParseCertificatesPem(primary->bytes.view());
  if (!certs.ok()) return certs.status();
  if (certs->size() != 1)
    return InvalidArgument(std::string(PrimaryFileName(kind)) + " holds more than one certificate");
  return x509::Fingerprint(certs->front().get());
}

}  // namespace rotor::app
