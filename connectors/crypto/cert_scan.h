// Scanning bytes for credentials: PEM and DER certificates (single and
// bundles), private keys (PKCS#1, PKCS#8, SEC1; encrypted ones recognised and
// reported as encrypted) and CSRs, as `rotor import` finds them in files
// written by a dozen tools.
//
// One result per item: a block that cannot be read becomes an item of type
// kError with its file, position and a specific reason, and the scan goes on
// with the next block. Certificate fields are read by rotor's own DER reader
// (CBS), so a certificate BoringSSL's strict X509 parser refuses (a negative
// or non-minimal serial, a PrintableString with '_') is still imported, with
// a lint warning naming the quirk and the strict parser's reason.
//
// Tolerated without a warning: CRLF line endings, a UTF-8 byte-order mark,
// indentation and trailing spaces, blank lines, no final newline, text
// before, between and after PEM blocks, PEM headers.
//
// Thread-safe: no shared state. Never reads past `data`; runs in time linear
// in its size.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/inventory.h"
#include "engine/ports/credentials.h"

namespace rotor::x509 {

// ScanBytes returns every item found in `data`, in file order, each with
// `file` as its file. An empty `data` or one with neither a PEM block nor a
// DER structure yields a single kError item saying so. With `ders`, it also
// appends one entry per item: the DER the item was read from — for
// certificates and unencrypted private keys (the key's own format: PKCS#8,
// PKCS#1 or SEC1) — and empty for everything else.
std::vector<InventoryItem> ScanBytes(std::string_view data, const std::string& file,
                                     std::vector<SecretBytes>* ders = nullptr);

}  // namespace rotor::x509
