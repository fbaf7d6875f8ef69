// The tables follow the NCSC-NL TLS guidelines v2.1, tables 1 (versions),
// 2 and 3 (cipher suites before and in TLS 1.3) and 9 (key exchange groups).
#include "policy/tls_rating.hpp"

#include <algorithm>
#include <array>

namespace chainmail::policy {

namespace {

// Table 2/3 "good": ECDHE with ECDSA or RSA, AEAD ciphers; every TLS 1.3 suite.
constexpr std::array<std::string_view, 9> kGoodCiphers{
    "TLS_AES_256_GCM_SHA384",        "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",        "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",   "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
};

// "sufficient": ECDHE with CBC, DHE with RSA.
constexpr std::array<std::string_view, 15> kSufficientCiphers{
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA",    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",    "ECDHE-RSA-AES256-SHA384",   "ECDHE-RSA-AES256-SHA",
    "ECDHE-RSA-AES128-SHA256",   "ECDHE-RSA-AES128-SHA",      "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-SHA256",
    "DHE-RSA-AES256-SHA",        "DHE-RSA-AES128-SHA256",     "DHE-RSA-AES128-SHA",
};

// "phase out": 3DES, and RSA key exchange (no forward secrecy).
constexpr std::array<std::string_view, 10> kPhaseOutCiphers{
    "ECDHE-ECDSA-DES-CBC3-SHA",
    "ECDHE-RSA-DES-CBC3-SHA",
    "DHE-RSA-DES-CBC3-SHA",
    "AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-SHA256",
    "AES256-SHA",
    "AES128-SHA256",
    "AES128-SHA",
    "DES-CBC3-SHA",
};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& table, std::string_view name) {
    return std::find(table.begin(), table.end(), name) != table.end();
}

}  // namespace

std::string_view to_string(NcscRating r) {
    switch (r) {
        case NcscRating::Good:
            return "good";
        case NcscRating::Sufficient:
            return "sufficient";
        case NcscRating::PhaseOut:
            return "phase-out";
        case NcscRating::Insufficient:
            return "insufficient";
    }
    return "insufficient";
}

NcscRating rate_version(TlsVersion v) {
    switch (v) {
        case TlsVersion::Tls13:
            return NcscRating::Good;
        case TlsVersion::Tls12:
            return NcscRating::Sufficient;
        case TlsVersion::Tls11:
        case TlsVersion::Tls10:
            return NcscRating::PhaseOut;
        case TlsVersion::Ssl3:
        case TlsVersion::Unknown:
            return NcscRating::Insufficient;
    }
    return NcscRating::Insufficient;
}

NcscRating rate_cipher(std::string_view name) {
    if (in(kGoodCiphers, name)) return NcscRating::Good;
    if (in(kSufficientCiphers, name)) return NcscRating::Sufficient;
    if (in(kPhaseOutCiphers, name)) return NcscRating::PhaseOut;
    return NcscRating::Insufficient;
}

NcscRating rate_group(std::string_view name) {
    // Table 9: elliptic curves are good; finite-field groups by size.
    if (name == "secp384r1" || name == "secp256r1" || name == "prime256v1" || name == "x448" ||
        name == "x25519")
        return NcscRating::Good;
    if (name == "ffdhe4096" || name == "ffdhe3072") return NcscRating::Sufficient;
    if (name == "ffdhe2048") return NcscRating::PhaseOut;
    return NcscRating::Insufficient;
}

}  // namespace chainmail::policy
