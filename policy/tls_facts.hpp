// tls_facts: what the TLS client reports after STARTTLS, for judge() to
// decide on. The TLS client verifies (OpenSSL, with the Check of the
// Requirement) but never aborts the handshake over a verification result.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::policy {

using Sha256 = std::array<std::uint8_t, 32>;

enum class TlsVersion { Unknown, Ssl3, Tls10, Tls11, Tls12, Tls13 };

// What SSL_get0_dane_authority() says authenticated the peer.
enum class DaneAuthority { None, Ee, Ta };

struct TlsFacts {
    bool connected = true;          // TCP connected and a 220 greeting arrived
    bool starttls_offered = false;  // in the EHLO reply
    bool starttls_accepted = true;  // 220 to STARTTLS (false: 4xx/5xx to it)
    bool handshake_ok = false;
    bool version_rejected = false;  // handshake failed on the protocol version
    TlsVersion version = TlsVersion::Unknown;
    std::string cipher;  // e.g. "TLS_AES_256_GCM_SHA384"
    // PKIX: the chain verified to a trust anchor in ca_file (names aside).
    bool chain_ok = false;
    // A reference name of Check::names matched the certificate (PKIX or DANE-TA).
    bool name_ok = false;
    std::string matched_name;  // SSL_get0_peername(), when name_ok
    // DANE: which TLSA usage verified the peer; None when DANE failed or was not tried.
    DaneAuthority dane = DaneAuthority::None;
    // SHA-256 of the leaf certificate's DER and of its SubjectPublicKeyInfo DER.
    std::optional<Sha256> cert_sha256;
    std::optional<Sha256> spki_sha256;
    bool requiretls_offered = false;  // REQUIRETLS in the EHLO reply after TLS
};

// Whether the leaf certificate's DER or its SubjectPublicKeyInfo DER hashes
// to one of the pinned SHA-256 digests (the `fingerprint` level). The one
// matcher: the TLS client's verification and judge() both ask it.
bool pinned(const std::vector<Sha256>& fingerprints, const std::optional<Sha256>& cert_sha256,
            const std::optional<Sha256>& spki_sha256);

std::string_view to_string(TlsVersion v);  // "TLSv1.2", as OpenSSL names them
std::optional<TlsVersion> parse_tls_min_version(std::string_view s);  // "1.2" -> Tls12

}  // namespace chainmail::policy
