// tls_rating: how the NCSC-NL "IT Security Guidelines for Transport Layer
// Security (TLS)" v2.1 (2021) rate a negotiated version, cipher suite and key
// exchange group. A pure table over OpenSSL's names; no I/O.
#pragma once

#include <string_view>

#include "policy/tls_facts.hpp"

namespace chainmail::policy {

// The guidelines' four ratings, best first.
enum class NcscRating { Good, Sufficient, PhaseOut, Insufficient };

std::string_view to_string(NcscRating r);  // "good", "sufficient", "phase-out", "insufficient"

// Unknown (nothing negotiated) rates Insufficient.
NcscRating rate_version(TlsVersion v);
// OpenSSL names: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256".
NcscRating rate_cipher(std::string_view openssl_name);
// "x25519", "secp384r1", "ffdhe3072"; an empty name (not reported) rates Insufficient.
NcscRating rate_group(std::string_view name);

}  // namespace chainmail::policy
