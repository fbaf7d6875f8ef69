// mta_sts: RFC 8461 as pure functions: the `_mta-sts` TXT record (§3.1), the
// policy file (§3.2), and the cache control flow of §3.3 and §5.1 with the
// time passed in. A record or policy with a missing or bad field is no policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/dns_facts.hpp"

namespace chainmail::policy {

// §3.2: max_age may not exceed 31557600 seconds (about one year).
constexpr std::int64_t kStsMaxAge = 31557600;
// §3.3: cached policies SHOULD be refreshed before they expire, about daily.
constexpr std::int64_t kStsRefresh = 86400;
// §3.3: the policy body is small; we refuse anything above 64 KB.
constexpr std::size_t kStsMaxBody = 64 * 1024;

// The record's `id`, or why there is none.
struct StsRecord {
    std::optional<std::string> id;
    std::string error;  // when !id: "no v=STSv1 record", "2 v=STSv1 records", ...
};

// §3.1: records that do not begin with "v=STSv1" are discarded; unless exactly
// one remains and it is valid (with an id of 1 to 32 letters and digits),
// the domain has no available policy. `txt`: one string per TXT record, its
// character-strings joined.
StsRecord parse_sts_record(const std::vector<std::string>& txt);

struct StsPolicy {
    MtaStsFacts::Mode mode = MtaStsFacts::Mode::None;
    std::vector<std::string> mx;  // lower case patterns, "mx.example.nl" or "*.example.nl"
    std::int64_t max_age = 0;     // seconds
    friend bool operator==(const StsPolicy&, const StsPolicy&) = default;
};

struct StsParse {
    std::optional<StsPolicy> policy;
    std::string error;  // when !policy: which field is missing or bad, and on which line
};

// §3.2: "key: value" lines ended by LF or CRLF. version (STSv1), mode
// (enforce, testing, none) and max_age (at most kStsMaxAge) exactly once;
// at least one mx unless the mode is none; unknown keys ignored.
StsParse parse_sts_policy(std::string_view body);

// A policy as the cache keeps it (on disk and in memory).
struct StsCached {
    StsPolicy policy;
    std::string id;              // the TXT record's id it was fetched under
    std::int64_t fetched_s = 0;  // unix seconds
    std::int64_t expires_s = 0;  // fetched_s + max_age
    bool valid(std::int64_t now_s) const { return now_s < expires_s; }
};

// The TXT lookup of one attempt.
struct StsTxt {
    enum class State {
        Record,    // exactly one valid record: `id`
        NoRecord,  // NXDOMAIN, NODATA, no or several v=STSv1 records, or an invalid one
        TempFail,  // SERVFAIL, timeout, DNSSEC-bogus: nothing can be concluded
    };
    State state = State::NoRecord;
    std::string id;
};

enum class StsStep {
    NoPolicy,  // deliver as though the domain had no MTA-STS
    UseCache,  // apply the cached policy
    Fetch,     // fetch the policy (new id, nothing cached, or due for refresh)
};

// §5.1: a valid cached policy stays in force when the TXT record is gone or
// cannot be looked up (§3.1: absence alone does not remove it); a new id, or
// a cached policy older than kStsRefresh, is fetched again.
StsStep sts_step(const std::optional<StsCached>& cached, const StsTxt& txt, std::int64_t now_s);

// What the cache holds after a fetch, and the policy that applies now.
struct StsAfterFetch {
    enum class Store { Keep, Replace, Drop };
    Store store = Store::Keep;
    std::optional<StsCached> apply;  // nullopt: no policy applies
};

// `fetched`: the parsed policy, nullopt when the fetch or the parse failed.
// §3.3: a failed fetch keeps a valid cached policy in force and otherwise
// means no policy; §8.3: `mode: none` removes the cached policy.
StsAfterFetch sts_after_fetch(const std::optional<StsCached>& cached, const std::string& id,
                              const std::optional<StsPolicy>& fetched, std::int64_t now_s);

// The facts the TLS decision uses; `current` as in MtaStsFacts.
MtaStsFacts sts_facts(const std::optional<StsCached>& applied, bool current, std::string note);

std::string_view to_string(MtaStsFacts::Mode m);  // "enforce", "testing", "none"

}  // namespace chainmail::policy
