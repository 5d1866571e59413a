// Inventory of existing credentials: what `rotor import` found in files
// (certificates, private keys, CSRs, and what could not be read), how the
// items relate (key <-> certificate by public key, certificate -> issuer), and
// how each certificate stands at an instant under a renewal policy.
//
// Pure values and functions; thread-compatible. The parsing of PEM/DER bytes
// into items is in connectors/crypto/cert_scan.h; this file holds what the
// rest of rotor needs without BoringSSL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

enum class ItemType : uint8_t { kCertificate = 1, kPrivateKey, kCsr, kOther, kError };
const char* ItemTypeName(ItemType type);  // "certificate", "private_key", "csr", "other", "error"
StatusOr<ItemType> ParseItemType(std::string_view name);

// InventoryItem: one thing found at one place in one file.
struct InventoryItem {
  // Where: the file as named on the command line (joined with the directory
  // walk), the 1-based position of the item in the file (PEM block number, or
  // DER element number), and the 1-based line of its BEGIN line (0 for DER).
  std::string file;
  uint32_t position = 0;
  uint32_t line = 0;
  ItemType type = ItemType::kError;
  std::string format;  // "pem" | "der"
  std::string label;   // PEM label, e.g. "CERTIFICATE", "RSA PRIVATE KEY"; empty for DER

  // Identity of the item: "sha256:<hex>" of its DER (certificates, CSRs) or of
  // its public key (private keys); empty for errors and encrypted keys.
  std::string fingerprint;
  // "sha256:<hex>" of the subjectPublicKey bits; what keys and certificates
  // are matched by. Empty when unknown (encrypted key).
  std::string public_key_id;
  std::string key_type;  // "ed25519", "p256", "p384", "rsa2048", ..., or "unknown(<oid>)"

  // Certificates and CSRs.
  std::string subject;  // RFC 4514-style, attributes in certificate order: "CN=a, O=b"
  std::vector<std::string> dns_names;
  // Certificates only.
  std::string issuer;
  std::string serial;  // CanonicalSerial form
  Instant not_before;
  Instant not_after;
  bool is_ca = false;
  bool self_signed = false;
  std::string subject_name_id;           // "sha256:" of the subject Name DER
  std::string issuer_name_id;            // "sha256:" of the issuer Name DER
  std::string subject_key_identifier;    // hex, may be empty
  std::string authority_key_identifier;  // hex, may be empty

  // Private keys: "pkcs1", "pkcs8", "sec1", "encrypted_pkcs8", "encrypted_pem".
  std::string key_format;
  bool encrypted = false;

  // Lint warnings: quirks read leniently (a negative serial, a PrintableString
  // holding characters it may not, a parser fallback). Never fatal.
  std::vector<std::string> warnings;
  // Why the item could not be read (type kError), or empty.
  std::string error;

  // Links, filled by LinkInventory: for a certificate, where its private key
  // was found ("file:position") and the fingerprint of its issuer when the
  // issuer was among the items; for a key, the fingerprint of a certificate of
  // its public key.
  std::string key_location;
  std::string issuer_fingerprint;
  std::string certificate_fingerprint;

  bool operator==(const InventoryItem&) const = default;
};

// Location renders "file:position" (and ":line N" is not included).
std::string Location(const InventoryItem& item);

// LinkInventory matches private keys to certificates by public key and each
// certificate to an issuing certificate among `items` (issuer name = subject
// name, and authority key id = subject key id when both are present).
void LinkInventory(std::vector<InventoryItem>* items);

// CertificateStatus: how a certificate stands at an instant.
enum class CertStatus : uint8_t { kValid = 1, kDue, kExpired, kNotYetValid };
const char* CertStatusName(CertStatus status);  // "valid", "due", "expired", "not_yet_valid"

// Classify returns the status of a certificate at `now`: not yet valid before
// notBefore, expired at or after notAfter, due from its renewal point under
// `policy` (computed from notBefore as the issuance instant, without jitter),
// valid otherwise.
CertStatus Classify(const InventoryItem& cert, Instant now, const RenewalPolicy& policy);

// Serial numbers. The canonical form is lowercase hexadecimal of the
// magnitude, an even number of digits with no superfluous leading zero byte,
// and a leading '-' for a negative serial: 0x07277F52 is "07277f52", 255 is
// "ff", -1 is "-01", zero is "00". It equals `openssl x509 -serial` output
// lowercased.
//
// CanonicalSerialFromDer renders the content bytes of a DER INTEGER
// (two's complement, big-endian; leniently accepting non-minimal encodings).
std::string CanonicalSerialFromDer(std::string_view content);
// ParseSerial accepts what users paste — "07:27:7f:52", "0x07277F52",
// "07 27 7F 52", "7277f52", with an optional leading '-' — and returns the
// canonical form. Digits are always read as hexadecimal. InvalidArgument
// names the offending character.
StatusOr<std::string> ParseSerial(std::string_view text);

// InventoryKey names an item's entry in the inventory: "<type>/<fingerprint>".
std::string InventoryKey(const InventoryItem& item);

// Encoding for storage: canonical JSON (engine/json.h), every field above.
std::string EncodeInventoryItem(const InventoryItem& item);
StatusOr<InventoryItem> DecodeInventoryItem(std::string_view json);

}  // namespace rotor
