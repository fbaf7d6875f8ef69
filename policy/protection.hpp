// protection: how well a delivery was protected, from the delivery log's
// tls.auth, weakest first; and the regression rule: the day a partner's
// protection got weaker than it had been. Pure: days are numbers, no clock.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "policy/outcome.hpp"

namespace chainmail::policy {

// Weakest first: a TLS failure (the level could not be met) counts as Failing.
enum class Protection { Failing, Plaintext, Encrypted, Authenticated, Dane };
constexpr std::size_t kProtections = 5;
constexpr std::size_t kAuthLabels = 7;  // policy::AuthLabel, in its order

std::string_view to_string(Protection p);  // "failing", ..., "dane"
std::string_view describe(Protection p);   // "DANE-authenticated", "only encrypted", ...

// The log's tls.auth ("dane-ee", ..., "none"); a delivery without `tls` is Plaintext.
std::optional<AuthLabel> parse_auth(std::string_view auth, bool has_tls);
Protection protection_of(AuthLabel a);

// A deferral or bounce is a TLS failure when its reason names one, or,
// for lines without a reason, when its status is ours for TLS (5.7.4, 5.7.5, 5.7.10).
bool is_tls_failure(std::string_view reason, std::string_view dsn);

struct DayProtection {
    std::int64_t day = 0;  // days since 1970-01-01
    std::array<std::uint64_t, kProtections> count{};
};

struct Regression {
    std::int64_t day = 0;  // the first day with the weaker protection
    Protection was = Protection::Dane;
    Protection now = Protection::Failing;
    std::uint64_t weaker = 0;    // that day's deliveries and failures below `was`
    std::uint64_t total = 0;     // all of that day's
    std::int64_t since_day = 0;  // `was` held from this day
};

// Days in order. The protection held is the weakest of the first day; a day
// whose weakest is below it is a regression, and from then on its weakest is
// what holds; a day whose weakest is above it raises it (recovery).
std::vector<Regression> find_regressions(const std::vector<DayProtection>& days);

// The same rule fed one event at a time (for a live counter in `serve`):
// returns a regression the first time a day goes below what held.
class ProtectionTrack {
  public:
    std::optional<Regression> observe(std::int64_t day, Protection p);

  private:
    std::int64_t day_ = 0;
    bool started_ = false;
    bool flagged_ = false;
    Protection held_ = Protection::Dane;
    Protection today_ = Protection::Dane;
    std::int64_t held_since_ = 0;
    std::uint64_t today_total_ = 0, today_weaker_ = 0;
};

}  // namespace chainmail::policy
