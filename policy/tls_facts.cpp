#include "policy/tls_facts.hpp"

namespace chainmail::policy {

std::string_view to_string(TlsVersion v) {
    switch (v) {
        case TlsVersion::Unknown:
            return "unknown";
        case TlsVersion::Ssl3:
            return "SSLv3";
        case TlsVersion::Tls10:
            return "TLSv1";
        case TlsVersion::Tls11:
            return "TLSv1.1";
        case TlsVersion::Tls12:
            return "TLSv1.2";
        case TlsVersion::Tls13:
            return "TLSv1.3";
    }
    return "unknown";
}

bool pinned(const std::vector<Sha256>& fingerprints, const std::optional<Sha256>& cert_sha256,
            const std::optional<Sha256>& spki_sha256) {
    for (const auto& fp : fingerprints)
        if ((cert_sha256 && *cert_sha256 == fp) || (spki_sha256 && *spki_sha256 == fp)) return true;
    return false;
}

std::optional<TlsVersion> parse_tls_min_version(std::string_view s) {
    if (s == "1.0") return TlsVersion::Tls10;
    if (s == "1.1") return TlsVersion::Tls11;
    if (s == "1.2") return TlsVersion::Tls12;
    if (s == "1.3") return TlsVersion::Tls13;
    return std::nullopt;
}

}  // namespace chainmail::policy
