#include "connectors/crypto/managed_ca.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "connectors/crypto/random.h"
#include "connectors/crypto/x509.h"
#include "engine/decimal.h"

namespace rotor {
namespace {

constexpr char kRootCertFile[] = "ca.pem";
constexpr char kRootKeyFile[] = "root.key.enc";
constexpr char kBundleFile[] = "bundle.pem";
constexpr char kRootKeyAad[] = "rotor-ca/root";
constexpr char kIntermediateKeyFile[] = "key.enc";
constexpr char kCertFile[] = "cert.pem";
constexpr char kChainFile[] = "chain.pem";
constexpr char kKeyFile[] = "key.pem";

std::string IntermediateAad(uint64_t generation) {
  return "rotor-ca/intermediate/" + std::to_string(generation);
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// WriteFileDurably writes `bytes` to dir/name through a temporary file that
// is fsync'd and renamed into place, then fsyncs the directory: a reader sees
// the old or the new content, never a torn one, and a crash loses neither.
Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view bytes, mode_t mode) {
  const std::string path = dir + "/" + name;
  std::string tmp_name = "." + name + ".tmp-";
  auto suffix = RandomBytes(8);
  if (!suffix.ok()) return suffix.status();
  for (unsigned char c : suffix->view()) tmp_name += "0123456789abcdef"[c & 15];
  const std::string tmp = dir + "/" + tmp_name;
  int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Unavailable("create " + tmp + ": " + ErrnoText(errno));
  std::string_view rest = bytes;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable("write " + tmp + ": " + ErrnoText(err));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Unavailable("fsync " + tmp + ": " + ErrnoText(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Unavailable("rename " + tmp + " to " + path + ": " + ErrnoText(err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Unavailable("open " + dir + ": " + ErrnoText(errno));
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return Unavailable("fsync " + dir + ": " + ErrnoText(err));
  return Status::Ok();
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path + ": " + ErrnoText(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Unavailable("read " + path + " failed");
  return out.str();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// KeyMatches reports whether `key` is the key of `cert` (EVP_PKEY_cmp
// compares the public halves; 1 = equal).
bool KeyMatches(const EVP_PKEY* key, X509* cert) {
  bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(cert));
  const bool equal = pub && EVP_PKEY_cmp(key, pub.get()) == 1;
  ERR_clear_error();
  return equal;
}

StatusOr<bssl::UniquePtr<X509>> OneCertificate(const Material& files, const char* name, const std::string& what) {
  const MaterialFile* f = FindFile(files, name);
  if (f == nullptr) return PermissionDenied(what + " has no " + name);
  auto certs = x509::ParseCertificatesPem(f->bytes.view());
  if (!certs.ok()) return PermissionDenied(what + ": " + name + ": " + certs.status().message());
  if (certs->size() != 1) return PermissionDenied(what + ": " + name + " must hold exactly one certificate");
  return std::move(certs->front());
}

}  // namespace

ManagedCa::ManagedCa(std::string ca_dir, CaSettings settings, KeyEncryptionKey kek)
    : ca_dir_(std::move(ca_dir)), settings_(std::move(settings)), kek_(std::move(kek)) {}

ManagedCa::~ManagedCa() = default;

StatusOr<std::unique_ptr<ManagedCa>> ManagedCa::Open(const std::string& ca_dir, const CaSettings& settings,
                                                     KeyEncryptionKey kek, bool create) {
  std::unique_ptr<ManagedCa> ca(new ManagedCa(ca_dir, settings, std::move(kek)));
  ROTOR_RETURN_IF_ERROR(ca->LoadOrCreateRoot(create));
  return ca;
}

Status ManagedCa::LoadOrCreateRoot(bool create) {
  const std::string cert_path = ca_dir_ + "/" + kRootCertFile;
  if (!FileExists(cert_path)) {
    if (!create) return NotFound("no managed CA at " + ca_dir_ + " (" + kRootCertFile + " is missing)");
    if (::mkdir(ca_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("mkdir " + ca_dir_ + ": " + ErrnoText(errno));
    }
    ROTOR_RETURN_IF_ERROR(settings_.import_cert.empty() ? CreateRoot() : ImportRoot());
  }
  ROTOR_ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(cert_path));
  auto certs = x509::ParseCertificatesPem(pem);
  if (!certs.ok()) return DataLoss(cert_path + ": " + certs.status().message());
  if (certs->size() != 1) return DataLoss(cert_path + " must hold exactly one certificate");
  root_ = std::move(certs->front());
  root_pem_ = std::move(pem);
  // The key must open under this KEK now, not at the first intermediate
  // rotation months later.
  auto key = OpenRootKey();
  if (!key.ok()) return key.status();
  if (!KeyMatches(key->get(), root_.get())) {
    return DataLoss(ca_dir_ + "/" + kRootKeyFile + " is not the key of " + cert_path);
  }
  return Status::Ok();
}

Status ManagedCa::CreateRoot() {
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, x509::GenerateKey(settings_.key_type));
  // The root is dated from the wall clock: it is created once, outside any
  // rotation, and only its validity bounds matter.
  const Instant now = Instant::FromSeconds(static_cast<int64_t>(::time(nullptr)));
  CertificateRequest req;
  req.key_type = settings_.key_type;
  req.subject = {{"O", settings_.organization}, {"CN", settings_.root_common_name}};
  req.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign | kKeyUsageDigitalSignature;
  req.is_ca = true;
  req.path_len = 1;
  req.not_before = now - settings_.skew;
  req.not_after = now + settings_.root_lifetime;
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509> cert, x509::SignCertificate(req, key.get(), nullptr, nullptr));
  SecretBytes der = x509::PrivateKeyDer(key.get());
  ROTOR_ASSIGN_OR_RETURN(std::string sealed, kek_.Seal(der.view(), kRootKeyAad));
  // The key first: a ca.pem without its key would be a root nobody can use.
  ROTOR_RETURN_IF_ERROR(WriteFileDurably(ca_dir_, kRootKeyFile, sealed, 0600));
  return WriteFileDurably(ca_dir_, kRootCertFile, x509::CertificatePem(cert.get()), 0644);
}

Status ManagedCa::ImportRoot() {
  ROTOR_ASSIGN_OR_RETURN(std::string cert_pem, ReadWholeFile(settings_.import_cert));
  ROTOR_ASSIGN_OR_RETURN(std::string key_pem, ReadWholeFile(settings_.import_key));
  SecretBytes key_text(std::move(key_pem));
  auto certs = x509::ParseCertificatesPem(cert_pem);
  if (!certs.ok()) return InvalidArgument("ca import: " + settings_.import_cert + ": " + certs.status().message());
  if (certs->size() != 1) return InvalidArgument("ca import: " + settings_.import_cert + " must hold one certificate");
  X509* cert = certs->front().get();
  auto key = x509::ParsePrivateKeyPem(key_text.view());
  if (!key.ok()) return InvalidArgument("ca import: " + settings_.import_key + ": " + key.status().message());
  if (!KeyMatches(key->get(), cert)) {
    return InvalidArgument("ca import: " + settings_.import_key + " is not the key of " + settings_.import_cert);
  }
  if (X509_check_ca(cert) != 1) {
    ERR_clear_error();
    return InvalidArgument("ca import: " + settings_.import_cert + " is not a CA certificate (basicConstraints)");
  }
  const Instant now = Instant::FromSeconds(static_cast<int64_t>(::time(nullptr)));
  if (x509::NotAfter(cert) <= now) return InvalidArgument("ca import: " + settings_.import_cert + " has expired");
  SecretBytes der = x509::PrivateKeyDer(key->get());
  ROTOR_ASSIGN_OR_RETURN(std::string sealed, kek_.Seal(der.view(), kRootKeyAad));
  ROTOR_RETURN_IF_ERROR(WriteFileDurably(ca_dir_, kRootKeyFile, sealed, 0600));
  return WriteFileDurably(ca_dir_, kRootCertFile, x509::CertificatePem(cert), 0644);
}

StatusOr<ManagedCa::ResealReport> ManagedCa::ResealKeys(const std::string& ca_dir, const KeyEncryptionKey& from,
                                                        const KeyEncryptionKey& to) {
  // (directory, file, aad) of every sealed key.
  struct SealedKey {
    std::string dir, name, aad;
  };
  std::vector<SealedKey> keys;
  if (FileExists(ca_dir + "/" + kRootKeyFile)) keys.push_back({ca_dir, kRootKeyFile, kRootKeyAad});
  const std::string versions = ca_dir + "/" + kCaIdentityId + "/versions";
  if (DIR* d = ::opendir(versions.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::optional<uint64_t> g = ParseDecimal(e->d_name);
      if (!g || *g == 0) continue;
      const std::string dir = versions + "/" + e->d_name;
      if (FileExists(dir + "/" + kIntermediateKeyFile))
        keys.push_back({dir, kIntermediateKeyFile, IntermediateAad(*g)});
    }
    ::closedir(d);
  } else if (errno != ENOENT) {
    return Unavailable("opendir " + versions + ": " + ErrnoText(errno));
  }
  ResealReport report;
  for (const SealedKey& k : keys) {
    const std::string path = k.dir + "/" + k.name;
    ROTOR_ASSIGN_OR_RETURN(std::string sealed, ReadWholeFile(path));
    if (to.Open(sealed, k.aad).ok()) {
      ++report.already;
      continue;
    }
    auto plain = from.Open(sealed, k.aad);
    if (!plain.ok()) return DataLoss(path + " opens under neither key-encryption key: " + plain.status().message());
    ROTOR_ASSIGN_OR_RETURN(std::string resealed, to.Seal(plain->view(), k.aad));
    ROTOR_RETURN_IF_ERROR(WriteFileDurably(k.dir, k.name, resealed, 0600));
    ++report.resealed;
  }
  return report;
}

StatusOr<bssl::UniquePtr<EVP_PKEY>> ManagedCa::OpenRootKey() const {
  const std::string path = ca_dir_ + "/" + kRootKeyFile;
  ROTOR_ASSIGN_OR_RETURN(std::string sealed, ReadWholeFile(path));
  auto der = kek_.Open(sealed, kRootKeyAad);
  if (!der.ok()) return DataLoss(path + " does not open with this key-encryption key: " + der.status().message());
  auto key = x509::ParsePrivateKeyDer(der->view());
  if (!key.ok()) return DataLoss(path + ": " + key.status().message());
  return key;
}

CertificateRequest ManagedCa::IntermediateRequest(uint64_t generation, Instant now, Instant not_after) const {
  CertificateRequest req;
  req.key_type = settings_.key_type;
  req.subject = {{"O", settings_.organization}, {"CN", "rotor intermediate CA " + std::to_string(generation)}};
  req.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign | kKeyUsageDigitalSignature;
  req.is_ca = true;
  req.path_len = 0;
  req.not_before = now - settings_.skew;
  req.not_after = std::min(not_after, x509::NotAfter(root_.get()));
  return req;
}

StatusOr<Candidate> ManagedCa::NewIntermediate(uint64_t generation, Instant now, Instant not_after) const {
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> root_key, OpenRootKey());
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, x509::GenerateKey(settings_.key_type));
  const CertificateRequest req = IntermediateRequest(generation, now, not_after);
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509> cert,
                         x509::SignCertificate(req, key.get(), root_.get(), root_key.get()));
  SecretBytes der = x509::PrivateKeyDer(key.get());
  if (der.empty()) return Internal("could not encode the key of intermediate " + std::to_string(generation));
  ROTOR_ASSIGN_OR_RETURN(std::string sealed, kek_.Seal(der.view(), IntermediateAad(generation)));
  Candidate c;
  c.files.push_back({kCertFile, SecretBytes(x509::CertificatePem(cert.get()))});
  c.files.push_back({kIntermediateKeyFile, SecretBytes(std::move(sealed))});
  c.fingerprint = x509::Fingerprint(cert.get());
  c.issued_at = now;
  c.not_after = x509::NotAfter(cert.get());
  return c;
}

StatusOr<std::unique_ptr<ManagedCa::Issuer>> ManagedCa::LoadIntermediate(uint64_t generation,
                                                                         const Material& files) const {
  const std::string what = "intermediate " + std::to_string(generation);
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509> cert, OneCertificate(files, kCertFile, what));
  const MaterialFile* sealed = FindFile(files, kIntermediateKeyFile);
  if (sealed == nullptr) return PermissionDenied(what + " has no " + kIntermediateKeyFile);
  auto der = kek_.Open(sealed->bytes.view(), IntermediateAad(generation));
  if (!der.ok()) return PermissionDenied(what + ": " + der.status().message());
  auto key = x509::ParsePrivateKeyDer(der->view());
  if (!key.ok()) return PermissionDenied(what + ": " + key.status().message());
  if (!KeyMatches(key->get(), cert.get())) {
    return PermissionDenied(what + ": its key does not match its certificate");
  }
  auto issuer = std::make_unique<Issuer>();
  issuer->generation = generation;
  issuer->cert_pem = x509::CertificatePem(cert.get());
  issuer->not_after = x509::NotAfter(cert.get());
  issuer->signed_by_root = x509::SignedBy(cert.get(), root_.get()) && X509_check_ca(cert.get()) != 0;
  issuer->cert = std::move(cert);
  issuer->key = std::move(key).value();
  return issuer;
}

Status ManagedCa::CheckIntermediate(const CredentialVersion& version, const Material& delivered, Instant now) const {
  ROTOR_ASSIGN_OR_RETURN(std::unique_ptr<Issuer> issuer, LoadIntermediate(version.generation, delivered));
  if (x509::Fingerprint(issuer->cert.get()) != version.fingerprint) {
    return PermissionDenied("the delivered intermediate is not the one issued (fingerprint differs)");
  }
  const CertificateRequest req = IntermediateRequest(version.generation, version.issued_at, version.not_after);
  x509::LeafCheck check;
  check.leaf = issuer->cert.get();
  check.key = issuer->key.get();
  check.request = &req;
  check.roots = {root_.get()};
  check.now = now;
  return x509::CheckLeaf(check);
}

Status ManagedCa::Refresh(DeliverySink& sink) {
  ROTOR_ASSIGN_OR_RETURN(std::vector<uint64_t> generations, sink.ListGenerations(kCaIdentityId));
  ROTOR_ASSIGN_OR_RETURN(uint64_t current_gen, sink.CurrentGeneration(kCaIdentityId));
  std::map<uint64_t, std::shared_ptr<const Issuer>> published;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t g : generations) {
      if (auto it = published_.find(g); it != published_.end()) published.emplace(g, it->second);
    }
  }
  for (uint64_t g : generations) {
    if (published.count(g)) continue;
    auto files = sink.ReadBack(kCaIdentityId, g);
    if (!files.ok()) {
      // A version being written right now (or a half-written one left by a
      // crash) is not published until it reads back whole.
      continue;
    }
    auto issuer = LoadIntermediate(g, *files);
    if (!issuer.ok()) continue;
    published.emplace(g, std::shared_ptr<const Issuer>(std::move(issuer).value()));
  }
  std::string bundle;
  for (auto it = published.rbegin(); it != published.rend(); ++it) bundle += it->second->cert_pem;
  bundle += root_pem_;
  std::shared_ptr<const Issuer> current;
  if (auto it = published.find(current_gen); it != published.end()) current = it->second;
  if (current_gen != 0 && !current) {
    return Unavailable("the current intermediate (generation " + std::to_string(current_gen) + ") cannot be loaded");
  }
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = bundle != bundle_;
  }
  // Publish first, switch the signer second: nothing is signed by an
  // intermediate that a consumer reading the bundle could not find.
  if (changed || !FileExists(bundle_path()))
    ROTOR_RETURN_IF_ERROR(WriteFileDurably(ca_dir_, kBundleFile, bundle, 0644));
  std::lock_guard<std::mutex> lock(mu_);
  bundle_ = std::move(bundle);
  published_ = std::move(published);
  current_ = std::move(current);
  return Status::Ok();
}

std::shared_ptr<const ManagedCa::Issuer> ManagedCa::CurrentIssuer() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::shared_ptr<const ManagedCa::Issuer> ManagedCa::VerifiedIssuer(std::string_view chain_pem, Instant now) const {
  if (now >= x509::NotAfter(root_.get())) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [g, issuer] : published_) {
    if (issuer->signed_by_root && issuer->cert_pem == chain_pem) return issuer;
  }
  return nullptr;
}

bool ManagedCa::IsPublished(X509* cert) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [g, issuer] : published_) {
    if (X509_cmp(issuer->cert.get(), cert) == 0) return true;
  }
  return false;
}

// CaIntermediateGenerator

StatusOr<Candidate> CaIntermediateGenerator::Generate(const CredentialJob& job) {
  if (job.record->kind != CredentialKind::kCaIntermediate) {
    return InvalidArgument("CaIntermediateGenerator cannot generate a credential of kind " +
                           std::string(CredentialKindName(job.record->kind)));
  }
  const Duration lifetime = job.group ? job.group->policy.lifetime : Duration::Days(90);
  return ca_->NewIntermediate(job.version->generation, job.now, job.now + lifetime);
}

Status CaIntermediateGenerator::Check(const CredentialJob& job, const Material& delivered) {
  return ca_->CheckIntermediate(*job.version, delivered, job.now);
}

// X509Generator

StatusOr<Candidate> X509Generator::Generate(const CredentialJob& job) {
  if (job.record->kind != CredentialKind::kX509) {
    return InvalidArgument("X509Generator cannot generate a credential of kind " +
                           std::string(CredentialKindName(job.record->kind)));
  }
  if (job.group == nullptr) return FailedPrecondition(job.record->id + " has no group, so no certificate profile");
  std::shared_ptr<const ManagedCa::Issuer> issuer = ca_->CurrentIssuer();
  if (!issuer) return Unavailable("the managed CA has no active intermediate yet");
  const CertificateProfile& profile = job.group->ProfileOf(job.record->id);
  const Instant not_after = std::min(job.now + job.group->policy.lifetime, issuer->not_after);
  const CertificateRequest req = ExpandProfile(profile, job.record->id, job.now, not_after);
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, x509::GenerateKey(profile.key_type));
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509> cert,
                         x509::SignCertificate(req, key.get(), issuer->cert.get(), issuer->key.get()));
  SecretBytes key_pem = x509::PrivateKeyPem(key.get());
  if (key_pem.empty()) return Internal("could not encode the private key of " + job.record->id);
  Candidate c;
  c.files.push_back({kCertFile, SecretBytes(x509::CertificatePem(cert.get()))});
  c.files.push_back({kChainFile, SecretBytes(issuer->cert_pem)});
  c.files.push_back({kKeyFile, std::move(key_pem)});
  c.fingerprint = x509::Fingerprint(cert.get());
  c.issued_at = job.now;
  c.not_after = x509::NotAfter(cert.get());
  return c;
}

Status X509Generator::Check(const CredentialJob& job, const Material& delivered) {
  if (job.group == nullptr) return FailedPrecondition(job.record->id + " has no group, so no certificate profile");
  const std::string what = "generation " + std::to_string(job.version->generation);
  for (const MaterialFile& f : delivered) {
    if (f.name != kCertFile && f.name != kChainFile && f.name != kKeyFile) {
      return PermissionDenied(what + " holds an unexpected file " + f.name);
    }
  }
  ROTOR_ASSIGN_OR_RETURN(bssl::UniquePtr<X509> leaf, OneCertificate(delivered, kCertFile, what));
  if (x509::Fingerprint(leaf.get()) != job.version->fingerprint) {
    return PermissionDenied(what + ": cert.pem is not the certificate issued (fingerprint differs)");
  }
  const MaterialFile* chain_file = FindFile(delivered, kChainFile);
  if (chain_file == nullptr) return PermissionDenied(what + " has no " + kChainFile);
  const MaterialFile* key_file = FindFile(delivered, kKeyFile);
  if (key_file == nullptr) return PermissionDenied(what + " has no " + kKeyFile);
  auto key = x509::ParsePrivateKeyPem(key_file->bytes.view());
  if (!key.ok()) return PermissionDenied(what + ": key.pem: " + key.status().message());
  const CertificateRequest req = ExpandProfile(job.group->ProfileOf(job.record->id), job.record->id,
                                               job.version->issued_at, job.version->not_after);
  x509::LeafCheck check;
  check.leaf = leaf.get();
  check.key = key->get();
  check.request = &req;
  check.now = job.now;
  // chain.pem as rotor writes it is exactly one published intermediate, whose
  // path to the root was verified when it was loaded: then only the leaf's
  // own signature is checked. Anything else is parsed and verified in full.
  if (auto issuer = ca_->VerifiedIssuer(chain_file->bytes.view(), job.now)) {
    check.verified_issuer = issuer->cert.get();
    return x509::CheckLeaf(check);  // `issuer` keeps the certificate alive meanwhile
  }
  auto chain = x509::ParseCertificatesPem(chain_file->bytes.view());
  if (!chain.ok()) return PermissionDenied(what + ": chain.pem: " + chain.status().message());
  if (!ca_->IsPublished(chain->front().get())) {
    return PermissionDenied(what + ": chain.pem names an intermediate that is not in the trust bundle");
  }
  for (auto& c : *chain) check.chain.push_back(c.get());
  check.roots = {ca_->root()};
  return x509::CheckLeaf(check);
}

}  // namespace rotor
