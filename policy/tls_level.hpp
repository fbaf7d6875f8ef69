// tls_level: the per-partner TLS levels of the product's table, and what a
// partner does when its level cannot be met. Pure names and parsing; no I/O.
#pragma once

#include <optional>
#include <string_view>

namespace chainmail::policy {

// Ordered from weakest to strongest, as in the TLS-level table.
enum class TlsLevel {
    None,
    May,
    Encrypt,
    Fingerprint,
    Verify,
    Secure,
    Dane,
    DaneOnly,
    Authenticated
};

enum class OnTlsFailure { Bounce, Defer, Hold, Reroute };

enum class Mode { Enforce, Testing };

std::optional<TlsLevel> parse_tls_level(std::string_view s);
std::string_view to_string(TlsLevel level);
std::optional<OnTlsFailure> parse_on_tls_failure(std::string_view s);
std::string_view to_string(OnTlsFailure f);
std::optional<Mode> parse_mode(std::string_view s);
std::string_view to_string(Mode m);

// One line in plain words: what the level demands (the product's TLS-level table).
std::string_view describe(TlsLevel level);

}  // namespace chainmail::policy
