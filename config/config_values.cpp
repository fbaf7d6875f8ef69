// config_values: the pure parsers for the scalar types of the configuration
// (durations, sizes, networks, endpoints, next hops, fingerprints, domains).
// Each returns nullopt on bad input and never throws.
#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <limits>

#include "config/config.hpp"

namespace chainmail::config {
namespace {

// Digits only, no sign, no overflow.
std::optional<std::uint64_t> parse_uint(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
    auto v = parse_uint(s);
    if (!v || *v == 0 || *v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*v);
}

// A host name (not a domain pattern): letters, digits, '-', '_' in labels.
bool valid_host_name(std::string_view s) {
    return parse_domain(s, false).has_value();
}

}  // namespace

std::string ConfigError::str() const {
    // A file that cannot be read has no line to point at: a made-up 1:1 would
    // send the reader looking inside a file that is not there.
    if (where.line <= 0) return where.file + ": " + message;
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.col) + ": " +
           message;
}

std::optional<Duration> parse_duration(std::string_view s) {
    if (s == "0") return Duration{0};
    if (s.size() < 2) return std::nullopt;
    std::uint64_t unit = 0;
    switch (s.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return std::nullopt;
    }
    auto n = parse_uint(s.substr(0, s.size() - 1));
    // Ten years is far beyond any timeout or lifetime an operator means.
    if (!n || *n > 10ull * 366 * 86400 / unit) return std::nullopt;
    return Duration{static_cast<Duration::rep>(*n * unit)};
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
    // Binary multiples, as Postfix and Exim documentation use them: 1 KB = 1024 bytes.
    std::uint64_t unit = 1;
    if (s.size() > 2 && s.substr(s.size() - 2) == "KB")
        unit = 1024, s.remove_suffix(2);
    else if (s.size() > 2 && s.substr(s.size() - 2) == "MB")
        unit = 1024 * 1024, s.remove_suffix(2);
    else if (s.size() > 2 && s.substr(s.size() - 2) == "GB")
        unit = 1024ull * 1024 * 1024, s.remove_suffix(2);
    else if (s.size() > 1 && s.back() == 'B')
        s.remove_suffix(1);
    auto n = parse_uint(s);
    if (!n || *n > std::numeric_limits<std::uint64_t>::max() / unit) return std::nullopt;
    return *n * unit;
}

bool parse_ip(std::string_view s, bool& v6, std::array<std::uint8_t, 16>& bytes) {
    if (s.empty() || s.size() > 45) return false;
    std::string z(s);
    bytes = {};
    if (inet_pton(AF_INET, z.c_str(), bytes.data()) == 1) {
        v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, z.c_str(), bytes.data()) == 1) {
        v6 = true;
        return true;
    }
    return false;
}

std::optional<Cidr> parse_cidr(std::string_view s) {
    Cidr c;
    auto slash = s.find('/');
    if (!parse_ip(s.substr(0, slash), c.v6, c.bytes)) return std::nullopt;
    const int max = c.v6 ? 128 : 32;
    c.prefix = max;
    if (slash != std::string_view::npos) {
        auto p = parse_uint(s.substr(slash + 1));
        if (!p || *p > static_cast<std::uint64_t>(max)) return std::nullopt;
        c.prefix = static_cast<int>(*p);
    }
    // Host bits set ("10.1.2.3/8") is almost always a typo for another network.
    for (int bit = c.prefix; bit < max; ++bit)
        if (c.bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
    return c;
}

bool Cidr::contains(bool addr_v6, const std::array<std::uint8_t, 16>& addr) const {
    std::array<std::uint8_t, 16> a = addr;
    bool a6 = addr_v6;
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a6 && !v6 && std::equal(kMapped.begin(), kMapped.end(), a.begin())) {
        // ::ffff:a.b.c.d, as an IPv6 socket reports an IPv4 client.
        std::array<std::uint8_t, 16> v4{};
        std::copy(a.begin() + 12, a.end(), v4.begin());
        a = v4;
        a6 = false;
    } else if (!a6 && v6) {
        std::array<std::uint8_t, 16> m{};
        std::copy(kMapped.begin(), kMapped.end(), m.begin());
        std::copy(a.begin(), a.begin() + 4, m.begin() + 12);
        a = m;
        a6 = true;
    }
    if (a6 != v6) return false;
    for (int bit = 0; bit < prefix; ++bit) {
        const std::uint8_t mask = 0x80 >> (bit % 8);
        if ((a[bit / 8] & mask) != (bytes[bit / 8] & mask)) return false;
    }
    return true;
}

std::string Cidr::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix);
}

std::optional<Endpoint> parse_endpoint(std::string_view s) {
    Endpoint e;
    std::string_view port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return std::nullopt;
        e.host = std::string(s.substr(1, close - 1));
        port = s.substr(close + 2);
        bool v6 = false;
        std::array<std::uint8_t, 16> b{};
        if (!parse_ip(e.host, v6, b) && !valid_host_name(e.host)) return std::nullopt;
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        e.host = std::string(s.substr(0, colon));
        port = s.substr(colon + 1);
        // A bare IPv6 address would make the port ambiguous: it needs brackets.
        if (e.host.find(':') != std::string::npos) return std::nullopt;
        bool v6 = false;
        std::array<std::uint8_t, 16> b{};
        if (!parse_ip(e.host, v6, b) && !valid_host_name(e.host)) return std::nullopt;
    }
    auto p = parse_port(port);
    if (!p) return std::nullopt;
    e.port = *p;
    return e;
}

std::optional<NextHop> parse_next_hop(std::string_view s) {
    NextHop h;
    std::string_view rest;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        h.host = std::string(s.substr(1, close - 1));
        h.mx_lookup = false;
        rest = s.substr(close + 1);
        bool v6 = false;
        std::array<std::uint8_t, 16> b{};
        if (!parse_ip(h.host, v6, b) && !valid_host_name(h.host)) return std::nullopt;
    } else {
        auto colon = s.find(':');
        h.host = std::string(s.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
        // Without brackets the host is a domain whose MX records are looked up.
        if (!valid_host_name(h.host)) return std::nullopt;
    }
    for (auto& c : h.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!rest.empty()) {
        if (rest.front() != ':') return std::nullopt;
        auto p = parse_port(rest.substr(1));
        if (!p) return std::nullopt;
        h.port = *p;
    }
    return h;
}

std::optional<std::array<std::uint8_t, 32>> parse_fingerprint(std::string_view s) {
    constexpr std::string_view kPrefix = "sha256:";
    if (s.size() < kPrefix.size()) return std::nullopt;
    for (std::size_t i = 0; i < kPrefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != kPrefix[i]) return std::nullopt;
    s.remove_prefix(kPrefix.size());
    std::array<std::uint8_t, 32> out{};
    std::size_t n = 0;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::size_t i = 0;
    while (i < s.size()) {
        if (n == out.size()) return std::nullopt;
        if (i + 1 >= s.size()) return std::nullopt;
        int hi = hex(s[i]), lo = hex(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
        if (i < s.size() && s[i] == ':') {
            ++i;
            if (i == s.size()) return std::nullopt;  // no trailing colon
        }
    }
    if (n != out.size()) return std::nullopt;
    return out;
}

std::optional<std::string> parse_domain(std::string_view s, bool allow_leading_dot) {
    std::string out;
    if (allow_leading_dot && !s.empty() && s.front() == '.') {
        out = ".";
        s.remove_prefix(1);
    }
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);  // the root dot adds nothing
    if (s.empty() || s.size() > 253) return std::nullopt;
    std::size_t label = 0;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
        } else if (std::isalnum(u) || c == '-' || c == '_') {
            if (++label > 63) return std::nullopt;
        } else {
            return std::nullopt;  // spaces, '@', non-ASCII (write IDNs as xn--)
        }
        out += static_cast<char>(std::tolower(u));
    }
    if (label == 0) return std::nullopt;
    return out;
}

}  // namespace chainmail::config
