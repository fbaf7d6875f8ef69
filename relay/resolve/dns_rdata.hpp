// dns_rdata: pure parsers for the rdata libunbound returns (uncompressed wire
// format, RFC 1035 §3.3) and the MX ordering. No I/O; every parser returns
// nullopt on malformed input and never reads past the span.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/resolve/dns_answer.hpp"

namespace chainmail::resolve {

// A wire-format name at data[pos], advancing pos past it: lower case, no
// trailing dot, "" for the root. Bytes outside letters, digits, '-' and '_'
// are escaped as \DDD (RFC 1035 §5.1). Compression pointers are refused:
// libunbound hands rdata out expanded.
std::optional<std::string> parse_wire_name(std::span<const std::uint8_t> data, std::size_t& pos);

// MX rdata: 16-bit preference, then the exchange name (RFC 1035 §3.3.9).
std::optional<MxHost> parse_mx(std::span<const std::uint8_t> rdata);

// TLSA rdata: usage, selector, matching type, association data (RFC 6698 §2.1).
std::optional<TlsaRecord> parse_tlsa(std::span<const std::uint8_t> rdata);

// TXT rdata: one or more <character-string>s, each a length byte and that
// many bytes (RFC 1035 §3.3.14), joined; nullopt when a length runs past the end.
std::optional<std::string> parse_txt(std::span<const std::uint8_t> rdata);

// "Mx.Example.NL." -> "mx.example.nl"
std::string normalize_name(std::string_view name);

// A source of random numbers; tests inject a fixed sequence.
using RandomSource = std::function<std::uint64_t()>;

// Sorts by preference and shuffles each run of equal preferences
// (RFC 5321 §5.1: equal preferences SHOULD be tried in random order).
void order_mx(std::vector<MxHost>& hosts, const RandomSource& random);

// RFC 7505 §3: exactly one MX record, preference 0, exchange the root.
bool is_null_mx(const std::vector<MxHost>& hosts);

}  // namespace chainmail::resolve
