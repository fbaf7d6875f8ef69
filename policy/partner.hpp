// partner: a partner rule (the YAML `partners` entries and `defaults`) as
// the decisions read it: plain data that config/ fills and validates. Policy
// never includes config/; config/ includes this (docs/architecture.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/tls_level.hpp"

namespace chainmail::policy {

// Where a value stood in the configuration file, for error messages.
struct Position {
    std::string file;
    int line = 0;  // 1-based
    int col = 0;   // 1-based
};

// next_hop syntax: "[h]:p" = this host, no MX lookup; "h:p" or "h" = the MX of h.
struct NextHop {
    std::string host;
    std::uint16_t port = 25;
    bool mx_lookup = true;
    std::string str() const;
};

// A partner rule, or `defaults` (which has no name, domains or next hop).
struct Partner {
    std::string name;                  // "defaults" for the defaults block
    std::vector<std::string> domains;  // lower case; ".x" = every subdomain of x
    TlsLevel tls = TlsLevel::Dane;
    bool mta_sts = true;
    // RFC 3030: BDAT when the next hop offers CHUNKING; false sends DATA
    // (for a partner whose server offers CHUNKING and mishandles it).
    bool chunking = true;
    std::optional<NextHop> next_hop;
    std::vector<std::string> match;  // names for verify/secure
    // SHA-256 digests (32 bytes each) of a certificate or a public key.
    std::vector<std::array<std::uint8_t, 32>> fingerprints;
    std::string tls_min_version;  // "", "1.0", "1.1", "1.2", "1.3"
    OnTlsFailure on_tls_failure = OnTlsFailure::Bounce;
    std::optional<NextHop> fallback_next_hop;
    std::string contact;
    std::string display_name;  // the name a person reads in reports; empty: `name`
    Mode mode = Mode::Enforce;
    Position where;
};

}  // namespace chainmail::policy
