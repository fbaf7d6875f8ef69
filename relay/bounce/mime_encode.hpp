// mime_encode: the encodings a report needs, as pure functions on strings:
// quoted-printable bodies (RFC 2045), encoded-words (RFC 2047), header folding
// (RFC 5322), xtext (RFC 3461) and RFC 5322 dates. Output lines end in CRLF.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chainmail::bounce {

// RFC 2045 §6.7: quoted-printable; `text` uses LF or CRLF line ends, the
// result uses CRLF and has no line longer than 76 characters.
std::string quoted_printable(std::string_view text);

// True when every byte is printable US-ASCII or space/tab.
bool is_ascii(std::string_view s);

// RFC 2047 §5(1): `utf8` as one or more encoded-words ("=?utf-8?q?...?="),
// each at most 75 characters, never splitting a UTF-8 sequence; plain ASCII
// text is returned unchanged.
std::string encode_words(std::string_view utf8);

// RFC 2047 §6: decodes encoded-words in charsets utf-8, us-ascii and
// iso-8859-1 (to UTF-8), for showing an original Subject; other charsets
// and malformed words are kept as written.
std::string decode_words(std::string_view value);

// "Name: value" folded at spaces before 78 characters where possible
// (RFC 5322 §2.1.1: never beyond 998), ending in CRLF. A value without
// spaces longer than 998 is cut: a header line must not exceed it.
std::string header_line(std::string_view name, std::string_view value);

// RFC 6533 §3: utf-8-addr-xtext (non-ASCII as \x{HEX}, and '+', '=', '\'
// escaped), for a UTF-8 address in a message/delivery-status field.
std::string utf8_addr_xtext(std::string_view utf8);

// Printable US-ASCII only: control and 8-bit bytes become '?', line ends a
// space. For peer-supplied text placed into a 7-bit structured field.
std::string ascii_only(std::string_view s);

// RFC 5322 §3.3 date-time in UTC: "Sun, 22 Nov 2026 12:00:00 +0000".
std::string rfc5322_date(std::int64_t unix_ms);

// Local time with its offset from UTC, for the human-readable text:
// "2026-11-22 13:00 (UTC+01:00)" for offset 3600.
std::string human_date(std::int64_t unix_ms, std::int32_t utc_offset_s);

}  // namespace chainmail::bounce
