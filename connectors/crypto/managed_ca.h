// ManagedCa: rotor's own certificate authority (ARCHITECTURE §5), and the two
// CredentialGenerators that use it.
//
// Layout under <data-dir>/ca:
//   ca.pem        the root certificate: the trust anchor consumers configure
//   root.key.enc  the root's PKCS#8 key, sealed under the KEK
//   bundle.pem    the trust bundle: every intermediate on disk, newest first,
//                 then the root
//   rotor-ca/versions/<generation>/{cert.pem,key.enc}   the intermediates
//   rotor-ca/current -> versions/<generation>           the one that signs
//
// The intermediate is an identity (kind kCaIntermediate, id kCaIdentityId)
// rotated by the same state machine as every leaf. Its versions are written
// by a DeliverySink rooted at <data-dir>/ca; after each change to them the
// wiring calls Refresh, which re-reads them through that sink and rewrites
// bundle.pem. A new intermediate is therefore in the bundle from the moment
// it is delivered — before it is activated and signs anything — and stays
// there until it is retired, which its policy schedules at its own notAfter,
// after the last leaf it signed has expired (a leaf never outlives its
// issuer).
//
// Thread-safety: CurrentIssuer, IsPublished and the generators may be called
// from any thread; Refresh from one thread at a time (the file worker).
#pragma once

#include <openssl/base.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/crypto/key_wrap.h"
#include "engine/certificate.h"
#include "engine/fleet.h"
#include "engine/ports/credentials.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

using CaSettings = CaSpec;

class ManagedCa {
 public:
  // One intermediate: its certificate and key.
  struct Issuer {
    uint64_t generation = 0;
    bssl::UniquePtr<X509> cert;
    bssl::UniquePtr<EVP_PKEY> key;
    std::string cert_pem;
    Instant not_after;
    bool signed_by_root = false;  // checked once, when loaded (x509::SignedBy)
  };

  // Open loads the root of `ca_dir`. When ca.pem is missing and `create` is
  // set, it creates the directory (0700) and a root — or imports
  // settings.import_cert/import_key — sealing the root key under `kek`.
  // A root key that does not open under `kek` is DataLoss naming the key ids.
  static StatusOr<std::unique_ptr<ManagedCa>> Open(const std::string& ca_dir, const CaSettings& settings,
                                                   KeyEncryptionKey kek, bool create);
  ~ManagedCa();

  // ResealReport counts the CA keys a ResealKeys call handled.
  struct ResealReport {
    size_t resealed = 0;  // opened under `from`, now sealed under `to`
    size_t already = 0;   // already sealed under `to` (an interrupted run resumed)
  };
  // ResealKeys rotates the key-encryption key of the CA keys in `ca_dir` —
  // root.key.enc and every intermediate version's key.enc — from `from` to
  // `to`. Each file is replaced atomically and durably (temporary, fsync,
  // rename, directory fsync), so a crash leaves every key readable under one
  // of the two KEKs, and running it again finishes the job. A key that opens
  // under neither is DataLoss naming the file and the key ids, and stops the
  // run before that file. Nothing else may use `ca_dir` meanwhile (the
  // caller holds the data directory's lock).
  static StatusOr<ResealReport> ResealKeys(const std::string& ca_dir, const KeyEncryptionKey& from,
                                           const KeyEncryptionKey& to);

  // Refresh re-reads the intermediates through `sink` (rooted at ca_dir),
  // makes the one `current` names the signer, and rewrites bundle.pem
  // (atomically, fsync'd) when its content changed.
  Status Refresh(DeliverySink& sink);

  // CurrentIssuer returns the intermediate that signs leaves, or null while
  // none is active (before the first intermediate is committed).
  std::shared_ptr<const Issuer> CurrentIssuer() const;
  // IsPublished reports whether `cert` is an intermediate in the bundle.
  bool IsPublished(X509* cert) const;

  X509* root() const { return root_.get(); }
  const std::string& ca_dir() const { return ca_dir_; }
  std::string bundle_path() const { return ca_dir_ + "/bundle.pem"; }
  const CaSettings& settings() const { return settings_; }

  // NewIntermediate creates generation `generation` of the intermediate,
  // valid until `not_after` (capped at the root's notAfter): files cert.pem
  // and key.enc (the key sealed under the KEK, bound to its generation).
  StatusOr<Candidate> NewIntermediate(uint64_t generation, Instant now, Instant not_after) const;
  // VerifiedIssuer returns the published intermediate whose certificate PEM
  // is exactly `chain_pem`, when the root's key verified its signature as it
  // was loaded and both are valid at `now`; else null (the caller verifies
  // the chain in full). Thread-safe.
  std::shared_ptr<const Issuer> VerifiedIssuer(std::string_view chain_pem, Instant now) const;
  // CheckIntermediate verifies delivered intermediate files: the key opens
  // and matches, the certificate is a CA chaining to the root and carries
  // the issued fingerprint.
  Status CheckIntermediate(const CredentialVersion& version, const Material& delivered, Instant now) const;

 private:
  ManagedCa(std::string ca_dir, CaSettings settings, KeyEncryptionKey kek);

  Status LoadOrCreateRoot(bool create);
  Status CreateRoot();
  Status ImportRoot();
  StatusOr<bssl::UniquePtr<EVP_PKEY>> OpenRootKey() const;
  StatusOr<std::unique_ptr<Issuer>> LoadIntermediate(uint64_t generation, const Material& files) const;
  CertificateRequest IntermediateRequest(uint64_t generation, Instant now, Instant not_after) const;

  // Constant after Open.
  const std::string ca_dir_;
  const CaSettings settings_;
  const KeyEncryptionKey kek_;
  bssl::UniquePtr<X509> root_;
  std::string root_pem_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::shared_ptr<const Issuer> current_;
  std::map<uint64_t, std::shared_ptr<const Issuer>> published_;  // generation -> intermediate on disk
  std::string bundle_;                                           // what bundle.pem holds
};

// CaIntermediateGenerator: the CredentialGenerator of kCaIntermediate.
// Lifetime from the job's group policy. Thread-safe.
class CaIntermediateGenerator final : public CredentialGenerator {
 public:
  explicit CaIntermediateGenerator(const ManagedCa* ca) : ca_(ca) {}
  // CredentialGenerator:
  StatusOr<Candidate> Generate(const CredentialJob& job) override;
  Status Check(const CredentialJob& job, const Material& delivered) override;

 private:
  const ManagedCa* ca_;
};

// X509Generator: the CredentialGenerator of kX509 leaves. The job's group
// supplies the certificate profile and the lifetime; the current
// intermediate signs, and the leaf's notAfter is capped at the
// intermediate's. Files: cert.pem, chain.pem (the intermediate), key.pem
// (PKCS#8). Generate fails with Unavailable while the CA has no active
// intermediate. Thread-safe.
class X509Generator final : public CredentialGenerator {
 public:
  explicit X509Generator(const ManagedCa* ca) : ca_(ca) {}
  // CredentialGenerator:
  StatusOr<Candidate> Generate(const CredentialJob& job) override;
  // Check: the key matches the certificate; subject, SANs and usages match
  // the group's profile; the validity window is sane; the chain leads
  // through a published intermediate to the root; the fingerprint is the
  // issued one.
  Status Check(const CredentialJob& job, const Material& delivered) override;

 private:
  const ManagedCa* ca_;
};

}  // namespace rotor
