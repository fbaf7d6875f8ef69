// report_advice: what `chainmail report` advises per partner and domain, from
// how its mail went (counts only), and the strongest level that would have
// delivered all of it. Pure; the rules are tested as a table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/protection.hpp"
#include "policy/tls_level.hpp"

namespace chainmail::policy {

struct RowFacts {
    std::optional<TlsLevel> level;                     // configured (the log's `policy`)
    std::optional<Mode> mode;                          // from the configuration; nullopt: not known
    std::int64_t days = 30;                            // the period
    std::array<std::uint64_t, kAuthLabels> by_auth{};  // deliveries, by AuthLabel
    std::uint64_t old_tls = 0;                         // deliveries over TLS 1.0 / 1.1 / SSL
    std::uint64_t tls_failures = 0;  // deferrals and bounces that were TLS failures
    std::string top_tls_failure;     // its most frequent reason
    std::uint64_t would_fail = 0;    // testing mode: deliveries the level would have refused
    std::string top_would_fail;
    std::uint64_t other_failures = 0;      // deferrals and bounces for other reasons
    std::optional<Regression> regression;  // the latest, if any
    std::string regression_date;           // its day as text ("2026-11-20")
};

enum class Severity { Good, Note, Warn, Act };
std::string_view to_string(Severity s);  // "good", "note", "warn", "act"

struct Advice {
    Severity severity = Severity::Note;
    std::string text;
};

std::uint64_t deliveries(const RowFacts& f);
// The strongest level under which every delivery of the period would have
// gone through, or nullopt when there were none.
std::optional<TlsLevel> strongest_safe(const RowFacts& f);
// Most important first; never empty.
std::vector<Advice> advise(const RowFacts& f);

// "1,204"
std::string thousands(std::uint64_t n);
// "1 day", "61 days", "1,024 files": the count as thousands() writes it.
std::string plural(std::uint64_t n, std::string_view one, std::string_view many);

}  // namespace chainmail::policy
