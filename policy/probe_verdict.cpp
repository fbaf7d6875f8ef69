#include "policy/probe_verdict.hpp"

#include "policy/failure_table.hpp"

namespace chainmail::policy {

std::string_view to_string(ProbeVerdict v) {
    switch (v) {
        case ProbeVerdict::Deliver:
            return "deliver";
        case ProbeVerdict::Fail:
            return "fail";
        case ProbeVerdict::Defer:
            return "defer";
    }
    return "defer";
}

std::string_view delivered_how(AuthLabel a) {
    switch (a) {
        case AuthLabel::DaneEe:
            return "authenticated by a DANE-EE TLSA record";
        case AuthLabel::DaneTa:
            return "authenticated by a DANE-TA TLSA record";
        case AuthLabel::Pkix:
            return "authenticated by a PKIX certificate";
        case AuthLabel::MtaSts:
            return "authenticated by PKIX under the MTA-STS policy";
        case AuthLabel::Fingerprint:
            return "authenticated by a pinned fingerprint";
        case AuthLabel::None:
            return "encrypted, not authenticated";
        case AuthLabel::Plaintext:
            return "in plaintext";
    }
    return "in plaintext";
}

namespace {

LevelVerdict refused(TlsLevel level, ProbeVerdict v, const std::string& host, const Outcome& o) {
    LevelVerdict out;
    out.level = level;
    out.verdict = v;
    out.reason = o.reason;
    out.host = host;
    out.reason_text = o.detail.empty() ? std::string(to_string(o.reason)) : o.detail;
    return out;
}

// The failure table decides fail (a bounce under on_tls_failure: bounce)
// or defer, with the same rules as a delivery attempt that ends here.
ProbeVerdict final_verdict(const Outcome& o, bool host_skipped) {
    Situation s;
    s.hosts_left = false;
    s.host_skipped = host_skipped;
    s.on_tls_failure = OnTlsFailure::Bounce;
    s.now = s.arrival;  // a fresh message: far from max_lifetime
    switch (next_step(trouble_of(o), s).step) {
        case Disposition::Bounce:
            return ProbeVerdict::Fail;
        case Disposition::NextHost:
        case Disposition::Defer:
        case Disposition::Hold:
        case Disposition::Reroute:
            return ProbeVerdict::Defer;
    }
    return ProbeVerdict::Defer;
}

}  // namespace

LevelVerdict level_verdict(TlsLevel level, const std::optional<Outcome>& destination,
                           const std::vector<HostOutcome>& hosts) {
    // check_destination(): null MX and a missing domain are permanent, DNS
    // failures temporary (never a bounce).
    if (destination) return refused(level, final_verdict(*destination, false), "", *destination);
    bool skipped = false;  // a host failed only temporarily: no bounce (the table's rule)
    const HostOutcome* last = nullptr;
    for (const HostOutcome& h : hosts) {
        if (last) skipped = skipped || last->outcome.verdict == Verdict::TempFail;
        switch (h.outcome.verdict) {
            case Verdict::Deliver: {
                LevelVerdict out;
                out.level = level;
                out.verdict = ProbeVerdict::Deliver;
                out.auth = h.outcome.auth;
                out.host = h.host;
                out.reason_text = h.host + ": " + std::string(delivered_how(h.outcome.auth));
                return out;
            }
            case Verdict::TempFail:
            case Verdict::RetryWithoutTls:  // never final: the caller judged the retry
            case Verdict::TlsFailure:
            case Verdict::PermFail:
                break;
        }
        last = &h;
    }
    if (!last) {
        Outcome none;
        none.reason = Reason::Unknown;
        none.detail = "no mail server to try";
        return refused(level, ProbeVerdict::Defer, "", none);
    }
    return refused(level, final_verdict(last->outcome, skipped), last->host, last->outcome);
}

int strength(TlsLevel level) {
    switch (level) {
        case TlsLevel::None:
            return 0;
        case TlsLevel::May:
            return 1;
        case TlsLevel::Dane:
            return 2;
        case TlsLevel::Encrypt:
            return 3;
        case TlsLevel::Fingerprint:
            return 4;
        case TlsLevel::Verify:
            return 5;
        case TlsLevel::Secure:
            return 6;
        case TlsLevel::Authenticated:
            return 7;
        case TlsLevel::DaneOnly:
            return 8;
    }
    return 0;
}

std::optional<TlsLevel> strongest(const std::vector<LevelVerdict>& verdicts) {
    std::optional<TlsLevel> best;
    for (const LevelVerdict& v : verdicts)
        if (v.verdict == ProbeVerdict::Deliver && (!best || strength(v.level) > strength(*best)))
            best = v.level;
    return best;
}

}  // namespace chainmail::policy
