#include "policy/tls_level.hpp"

#include <array>
#include <utility>

namespace chainmail::policy {
namespace {

constexpr std::array<std::pair<std::string_view, TlsLevel>, 9> kLevels{{
    {"none", TlsLevel::None},
    {"may", TlsLevel::May},
    {"encrypt", TlsLevel::Encrypt},
    {"fingerprint", TlsLevel::Fingerprint},
    {"verify", TlsLevel::Verify},
    {"secure", TlsLevel::Secure},
    {"dane", TlsLevel::Dane},
    {"dane-only", TlsLevel::DaneOnly},
    {"authenticated", TlsLevel::Authenticated},
}};

constexpr std::array<std::pair<std::string_view, OnTlsFailure>, 4> kFailures{{
    {"bounce", OnTlsFailure::Bounce},
    {"defer", OnTlsFailure::Defer},
    {"hold", OnTlsFailure::Hold},
    {"reroute", OnTlsFailure::Reroute},
}};

constexpr std::array<std::pair<std::string_view, Mode>, 2> kModes{{
    {"enforce", Mode::Enforce},
    {"testing", Mode::Testing},
}};

template <typename T, std::size_t N>
std::optional<T> lookup(const std::array<std::pair<std::string_view, T>, N>& table,
                        std::string_view s) {
    for (const auto& [name, value] : table)
        if (name == s) return value;
    return std::nullopt;
}

template <typename T, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, T>, N>& table, T v) {
    for (const auto& [name, value] : table)
        if (value == v) return name;
    return "?";
}

}  // namespace

std::optional<TlsLevel> parse_tls_level(std::string_view s) {
    return lookup(kLevels, s);
}
std::string_view to_string(TlsLevel level) {
    return name_of(kLevels, level);
}
std::string_view describe(TlsLevel level) {
    switch (level) {
        case TlsLevel::None:
            return "never STARTTLS: plaintext";
        case TlsLevel::May:
            return "STARTTLS when offered; plaintext if not offered or the handshake fails";
        case TlsLevel::Encrypt:
            return "STARTTLS required; the peer need not prove who it is";
        case TlsLevel::Fingerprint:
            return "STARTTLS required; the certificate or key must be one of `fingerprints`";
        case TlsLevel::Verify:
            return "STARTTLS required; PKIX chain to ca_file, name = the MX host name";
        case TlsLevel::Secure:
            return "STARTTLS required; PKIX chain, name in `match` (default: the next-hop domain "
                   "and its subdomains)";
        case TlsLevel::Dane:
            return "DANE where DNSSEC-valid usable TLSA exist; encrypt if TLSA are all unusable; "
                   "else STARTTLS when offered";
        case TlsLevel::DaneOnly:
            return "STARTTLS required; DNSSEC-valid usable TLSA for every host tried";
        case TlsLevel::Authenticated:
            return "STARTTLS required; DANE, else an MTA-STS enforce policy, else PKIX with the MX "
                   "name when the MX is DNSSEC-secure";
    }
    return "?";
}

std::optional<OnTlsFailure> parse_on_tls_failure(std::string_view s) {
    return lookup(kFailures, s);
}
std::string_view to_string(OnTlsFailure f) {
    return name_of(kFailures, f);
}
std::optional<Mode> parse_mode(std::string_view s) {
    return lookup(kModes, s);
}
std::string_view to_string(Mode m) {
    return name_of(kModes, m);
}

}  // namespace chainmail::policy
