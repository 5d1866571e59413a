// X.509 on BoringSSL: key generation, certificate signing, PEM encoding and
// parsing, and the checks of the verify step (ARCHITECTURE §5).
//
// Every function is thread-safe (no shared state; BoringSSL's CSPRNG is).
// Objects are held in bssl::UniquePtr; nothing here calls a *_free by hand.
// Failures return a Status whose message names what was wrong; the BoringSSL
// error queue is cleared before returning.
#pragma once

#include <openssl/base.h>
// bssl::UniquePtr<EVP_PKEY> and <X509> need the deleters these two define.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/adoption.h"
#include "engine/certificate.h"
#include "engine/ports/credentials.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor::x509 {

// GenerateKey returns a fresh private key of `type`.
StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type);

// SignCertificate builds and signs a certificate for `subject_key`'s public
// key from `request`:
//   - version 3; serial = 16 CSPRNG bytes, top bit cleared, never zero;
//   - subject attributes in request order, each a UTF8String unless the value
//     fits PrintableString (C and serialNumber are always PrintableString);
//   - validity = [request.not_before, request.not_after], encoded as UTCTime
//     before 2050 and GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5);
//   - extensions: basicConstraints (critical; CA:TRUE with the optional
//     pathLen for CAs, CA:FALSE for leaves), keyUsage (critical; keyCertSign
//     and cRLSign added for CAs), extendedKeyUsage when non-empty,
//     subjectAltName (critical when the subject is empty) with DNS, URI and IP
//     entries, subjectKeyIdentifier (SHA-1 of the public key bits, RFC 5280
//     §4.2.1.2 method 1) and authorityKeyIdentifier (the issuer's SKI);
//   - issuer = `issuer`'s subject; signed by `issuer_key` (Ed25519: pure
//     Ed25519; EC: ECDSA with SHA-256; RSA: PKCS#1 v1.5 with SHA-256).
// `issuer` null means self-signed: issuer name = subject, AKI = SKI, signed by
// `subject_key`. Refuses (InvalidArgument) a notAfter past the issuer's
// notAfter, notBefore after notAfter, a bad IP or an empty request.
StatusOr<bssl::UniquePtr<X509>> SignCertificate(const CertificateRequest& request, EVP_PKEY* subject_key, X509* issuer,
                                                EVP_PKEY* issuer_key);

// CertificatePem / CertificateDer encode `cert`.
std::string CertificatePem(X509* cert);
std::string CertificateDer(X509* cert);
// CertificateDerPem writes certificate DER bytes as PEM, byte for byte.
std::string CertificateDerPem(std::string_view der);
// PrivateKeyPem encodes `key` as unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
SecretBytes PrivateKeyPem(EVP_PKEY* key);
// PrivateKeyDer encodes `key` as PKCS#8 DER (for wrapping under a KEK).
SecretBytes PrivateKeyDer(EVP_PKEY* key);

// ParseCertificatesPem returns every CERTIFICATE block of `pem`, in order.
// InvalidArgument naming the block number when one fails to parse; NotFound
// when there is none.
StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificatesPem(std::string_view pem);
// ParsePrivateKeyPem reads one unencrypted key: PKCS#8 ("PRIVATE KEY"),
// PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"). An encrypted key
// ("ENCRYPTED PRIVATE KEY" or Proc-Type: 4,ENCRYPTED) is InvalidArgument
// saying so.
StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyPem(std::string_view pem);
// ParsePrivateKeyDer reads PKCS#8 DER.
StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(std::string_view der);

// ParsePrivateKeyDerAs reads an unencrypted key in `format`: "pkcs8",
// "pkcs1" (RSA) or "sec1" (EC), as cert_scan names them.
StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDerAs(std::string_view format, std::string_view der);
// ParseCertificateDer reads one DER certificate with BoringSSL's parser.
StatusOr<bssl::UniquePtr<X509>> ParseCertificateDer(std::string_view der);

// ReadImportedCertificate reads what an equivalent certificate must carry
// (engine/adoption.h): subject attributes (values as UTF-8), SANs, key
// usages, extended key usages and key type. InvalidArgument when BoringSSL
// cannot parse the certificate or an extension is malformed.
StatusOr<ImportedCertificate> ReadImportedCertificate(X509* cert);

// Fingerprint returns "sha256:<lowercase hex>" of the certificate's DER.
std::string Fingerprint(X509* cert);
// NotAfter / NotBefore return the certificate's validity bounds.
Instant NotAfter(X509* cert);
Instant NotBefore(X509* cert);
// KeyTypeOf names the type of `key` (InvalidArgument for any other type).
StatusOr<KeyType> KeyTypeOf(const EVP_PKEY* key);

// What the verify step checks about a delivered certificate.
struct LeafCheck {
  X509* leaf = nullptr;
  EVP_PKEY* key = nullptr;  // the delivered private key
  const CertificateRequest* request = nullptr;
  std::vector<X509*> chain;  // intermediates delivered with the leaf (untrusted)
  std::vector<X509*> roots;  // trust anchors
  // An issuing certificate whose own path to a root was verified before
  // (the managed CA verifies each intermediate once, when it loads it). When
  // set, `chain` and `roots` are not consulted: step 4 checks that it issued
  // the leaf (names and key identifiers), that it is valid at `now`, and that
  // its key verifies the leaf's signature — one signature check instead of
  // one per certificate of the chain, every rotation.
  X509* verified_issuer = nullptr;
  Instant now;
  Duration max_clock_skew = Duration::Minutes(5);
};

// CheckLeaf verifies, in order, and returns the first failure as
// PermissionDenied with a specific message:
//   1. `key`'s public key is the leaf's public key;
//   2. subject attributes (type, value, order), DNS/URI/IP SANs (as sets),
//      key usage and extended key usage equal the request;
//   3. validity: notBefore ≤ now + max_clock_skew, now < notAfter,
//      notBefore < notAfter, and notAfter ≤ the issuing certificate's notAfter;
//   4. the leaf chains through `chain` to one of `roots` (X509_verify_cert at
//      `now`, no partial chains) — or, with `verified_issuer`, is issued and
//      signed by it, valid at `now` — and basicConstraints says it is no CA
//      unless the request is a CA.
Status CheckLeaf(const LeafCheck& check);

// SignedBy reports whether `issuer` issued `cert` (names and key
// identifiers) and its public key verifies `cert`'s signature. The error
// queue is left clear.
bool SignedBy(X509* cert, X509* issuer);

}  // namespace rotor::x509
