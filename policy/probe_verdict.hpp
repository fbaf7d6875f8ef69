// probe_verdict: `chainmail probe`'s answer per TLS level, from the outcomes
// that judge() gave each candidate host, combined the way a delivery attempt
// combines them: the first host that delivers wins; otherwise the failure
// table (next_step) says fail (bounce-worthy) or defer. Pure; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/outcome.hpp"
#include "policy/tls_level.hpp"

namespace chainmail::policy {

enum class ProbeVerdict { Deliver, Fail, Defer };
std::string_view to_string(ProbeVerdict v);  // "deliver", "fail", "defer"

struct HostOutcome {
    std::string host;
    Outcome outcome;  // judge()'s (or before_connect()'s) verdict for this host
};

struct LevelVerdict {
    TlsLevel level = TlsLevel::May;
    ProbeVerdict verdict = ProbeVerdict::Defer;
    Reason reason = Reason::None;           // for Fail and Defer
    AuthLabel auth = AuthLabel::Plaintext;  // for Deliver
    std::string host;                       // the host that decided (empty: the destination itself)
    std::string reason_text;  // "mx1.example.nl: authenticated by a DANE-EE TLSA record"
};

// `destination` is check_destination()'s outcome (null MX, bogus MX ...) if any.
LevelVerdict level_verdict(TlsLevel level, const std::optional<Outcome>& destination,
                           const std::vector<HostOutcome>& hosts);

// How much a delivery under the level proves, for "the strongest level that
// would deliver": none < may < dane (opportunistic where no TLSA) < encrypt
// < fingerprint < verify < secure < authenticated < dane-only.
int strength(TlsLevel level);

// The strongest level whose verdict is Deliver; nullopt when none delivers.
std::optional<TlsLevel> strongest(const std::vector<LevelVerdict>& verdicts);

// "authenticated by a DANE-EE TLSA record", "encrypted, not authenticated", "in plaintext".
std::string_view delivered_how(AuthLabel a);

}  // namespace chainmail::policy
