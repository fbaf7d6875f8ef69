// smtp_codec: the encodings SMTP and its extensions carry, in one place:
// xtext for DSN parameters (RFC 3461 §4), base64 for SASL (RFC 4954 §4,
// RFC 4648 §4) and MIME encoded words (RFC 2047 §4.1), and ASCII case
// folding for the case-insensitive parts (domains, keywords, charsets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chainmail::policy {

// RFC 3461 §4: xtext = *( xchar / hexchar ), hexchar = "+" 2(upper-case HEX).
// nullopt when `s` is not xtext (a bad escape, '=', a control or non-ASCII).
std::optional<std::string> xtext_decode(std::string_view s);
bool xtext_valid(std::string_view s);
// '+', '=', controls, space and non-ASCII as "+XX"; everything else as is.
std::string xtext_encode(std::string_view s);

// RFC 4648 §4 with padding: nullopt for a length that is not a multiple of 4,
// a character outside the alphabet, or data after the padding.
std::optional<std::string> base64_decode(std::string_view s);
std::string base64_encode(std::string_view s);

// ASCII letters to lower case; every other byte (UTF-8 too) unchanged.
std::string ascii_lower(std::string_view s);

}  // namespace chainmail::policy
