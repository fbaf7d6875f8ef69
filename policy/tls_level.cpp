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

std::optional<TlsLevel> parse_tls_level(std::string_view s) { return lookup(kLevels, s); }
std::string_view to_string(TlsLevel level) { return name_of(kLevels, level); }
std::optional<OnTlsFailure> parse_on_tls_failure(std::string_view s) {
    return lookup(kFailures, s);
}
std::string_view to_string(OnTlsFailure f) { return name_of(kFailures, f); }
std::optional<Mode> parse_mode(std::string_view s) { return lookup(kModes, s); }
std::string_view to_string(Mode m) { return name_of(kModes, m); }

}  // namespace chainmail::policy
