// CredentialStack: for one data directory, what makes, delivers and checks
// every credential kind — wired once for the daemon and the CLI.
//
//   kind             generator                 delivered under
//   api_key          ApiKeyGenerator           <data-dir>/out
//   x509             X509Generator             <data-dir>/out
//   ca_intermediate  CaIntermediateGenerator   <data-dir>/ca    (ManagedCa)
//
// generator() and sink() route each call by kind or by identity id, so the
// runtime sees one CredentialGenerator and one DeliverySink. After every
// batch that touches the CA's intermediate the sink has the ManagedCa
// re-read it and republish the trust bundle.
//
// Thread-safety: generator() is thread-safe; sink() follows the
// DeliverySink contract (one thread at a time).
#pragma once

#include <memory>
#include <string>

#include "connectors/crypto/api_key_generator.h"
#include "connectors/crypto/key_wrap.h"
#include "connectors/crypto/managed_ca.h"
#include "connectors/files/file_delivery_sink.h"
#include "engine/fleet.h"
#include "engine/ports/credentials.h"
#include "engine/status.h"

namespace rotor::app {

class CredentialStack {
 public:
  struct Options {
    std::string data_dir;
    std::string config_dir;  // relative paths of the fleet's ca section resolve here
    const FleetSpec* fleet = nullptr;
    bool create = true;  // create the CA (and a KEK) when missing
  };

  // Open opens the sinks and, when the fleet needs one (or <data-dir>/ca
  // exists), the managed CA.
  static StatusOr<std::unique_ptr<CredentialStack>> Open(const Options& options);
  // OpenForReading opens only the sinks (no CA, no KEK, nothing created):
  // enough to read back and fingerprint what was delivered.
  static StatusOr<std::unique_ptr<CredentialStack>> OpenForReading(const std::string& data_dir);
  ~CredentialStack();

  CredentialGenerator* generator();
  DeliverySink* sink();
  // ca() is null when the data directory has no CA.
  ManagedCa* ca() { return ca_.get(); }
  FileDeliverySink* out() { return out_.get(); }

  // Refresh reloads the CA's intermediates and republishes the bundle.
  Status RefreshCa();

 private:
  class Router;
  class Sink;
  CredentialStack() = default;

  std::unique_ptr<FileDeliverySink> out_;
  std::unique_ptr<FileDeliverySink> ca_files_;
  std::unique_ptr<ManagedCa> ca_;
  ApiKeyGenerator api_keys_;
  std::unique_ptr<X509Generator> certificates_;
  std::unique_ptr<CaIntermediateGenerator> intermediates_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Sink> sink_;
};

// ConfigDir is the directory of a fleet file: relative paths in it resolve there.
std::string ConfigDir(const std::string& config);
// ResolveIn returns `path` resolved against `dir`; an empty or absolute path
// stays as it is.
std::string ResolveIn(const std::string& dir, const std::string& path);

// ResolveKek finds the key-encryption key: the fleet's ca.kek_file, else the
// file named by ROTOR_KEK_FILE, else the text of ROTOR_KEK, else
// <data-dir>/kek — created (0600) on first start when `create` is set.
StatusOr<KeyEncryptionKey> ResolveKek(const std::string& data_dir, const std::string& kek_file, bool create);

// DeliveredFingerprint is the fingerprint of delivered `material` of `kind`
// as the machine records it: SHA-256 of the secret, or of the certificate's
// DER.
StatusOr<std::string> DeliveredFingerprint(CredentialKind kind, const Material& material, const Hasher& hasher);

}  // namespace rotor::app
