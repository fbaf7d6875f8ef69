#include "policy/tls_decision.hpp"

#include <algorithm>

namespace chainmail::policy {
namespace {

// The TLSA situation of one host, as the table's `dane` row distinguishes it.
enum class Dane {
    NotApplicable,  // name or address not DNSSEC-secure: DANE cannot apply
    Usable,         // secure TLSA with at least one usable record
    Unusable,       // secure TLSA, every record unusable
    NoRecords,      // validated "no TLSA", or the TLSA zone is insecure
    Bogus,
    TempFail,
    NotLookedUp,  // the resolver skipped a lookup that should have happened
};

Dane dane_state(const MxFacts& mx, const HostFacts& host) {
    if (!dane_applies(mx, host)) return Dane::NotApplicable;
    switch (host.tlsa.state) {
        case TlsaState::Secure:
            return usable_tlsa(host.tlsa).empty() ? Dane::Unusable : Dane::Usable;
        case TlsaState::SecureNoRecords:
        case TlsaState::Insecure:
            return Dane::NoRecords;
        case TlsaState::Bogus:
            return Dane::Bogus;
        case TlsaState::TempFail:
            return Dane::TempFail;
        case TlsaState::NotApplicable:
            return Dane::NotLookedUp;
    }
    return Dane::NotLookedUp;
}

TlsVersion min_version(const Partner& p) {
    // NCSC-NL guidelines: TLS 1.2 and 1.3 only where TLS is required.
    if (auto v = parse_tls_min_version(p.tls_min_version)) return *v;
    return TlsVersion::Tls12;
}

Demand opportunistic(TlsLevel level, std::string why) {
    Demand d;
    d.level = level;
    d.starttls = Starttls::IfOffered;
    d.why = std::move(why);
    return d;
}

Demand required(TlsLevel level, const Partner& p, AuthMethod auth, std::string why) {
    Demand d;
    d.level = level;
    d.starttls = Starttls::Required;
    d.check.auth = auth;
    d.check.min_version = min_version(p);
    d.why = std::move(why);
    return d;
}

Demand refuse(TlsLevel level, Gate gate, Reason reason, std::string detail) {
    Demand d;
    d.level = level;
    d.gate = gate;
    d.reason = reason;
    d.starttls = Starttls::Required;
    d.why = detail;
    d.detail = std::move(detail);
    return d;
}

std::string tlsa_name(const HostFacts& h) {
    std::string out = "_";  // appended step by step: g++ 12 -Wrestrict misfires on a + chain
    out += std::to_string(h.port);
    out += "._tcp.";
    out += h.name;
    return out;
}

// Usable TLSA records: DANE is required (RFC 7672 §2.2).
Demand dane_demand(TlsLevel level, const Partner& p, const MxFacts& mx, const HostFacts& host) {
    Demand d =
        required(level, p, AuthMethod::Dane,
                 "usable TLSA records at " + tlsa_name(host) + " (DNSSEC-secure): DANE required");
    d.check.tlsa = usable_tlsa(host.tlsa);
    // RFC 7672 §3.2.3: DANE-TA name checks accept the MX host name and the
    // next-hop domain; DANE-EE(3) checks no name (RFC 7672 §3.1.1).
    d.check.names.push_back(host.name);
    if (mx.domain != host.name) d.check.names.push_back(mx.domain);
    return d;
}

// A deferral for a TLSA lookup that failed: RFC 7672 §2.1, never a downgrade.
std::optional<Demand> tlsa_failure(TlsLevel level, Dane state, const HostFacts& host) {
    switch (state) {
        case Dane::Bogus:
            return refuse(level, Gate::Defer, Reason::DnssecBogus,
                          "the TLSA records of " + host.name + " fail DNSSEC validation");
        case Dane::TempFail:
            return refuse(level, Gate::Defer, Reason::DnsTempFail,
                          "the TLSA lookup for " + host.name + " failed (DNS server failure)");
        case Dane::NotLookedUp:
            return refuse(level, Gate::Defer, Reason::Unknown,
                          "the TLSA records of " + host.name + " were not looked up");
        case Dane::NotApplicable:
        case Dane::Usable:
        case Dane::Unusable:
        case Dane::NoRecords:
            return std::nullopt;
    }
    return std::nullopt;
}

Demand mta_sts_demand(TlsLevel level, const Partner& p, const MtaStsFacts& sts,
                      const HostFacts& host) {
    const bool listed =
        std::any_of(sts.mx_patterns.begin(), sts.mx_patterns.end(),
                    [&](const auto& pat) { return mx_pattern_matches(pat, host.name); });
    // RFC 8461 §4.1, §5: an MX that does not match an enforce policy MUST NOT be used.
    if (!listed)
        return refuse(level, Gate::TlsFailure, Reason::MtaStsMxMismatch,
                      host.name +
                          " is not among the MX hosts of the recipient domain's MTA-STS policy" +
                          (sts.id.empty() ? std::string() : " (policy id " + sts.id + ")"));
    // RFC 8461 §4.2: PKIX-valid certificate for the MX host name.
    Demand d = required(level, p, AuthMethod::MtaSts,
                        "MTA-STS policy in enforce mode lists " + host.name + ": PKIX required");
    d.check.names.push_back(host.name);
    return d;
}

// What an MTA-STS policy demands of one host where the partner honours it.
// RFC 8461 §2: where usable DNSSEC-valid TLSA records exist DANE decides and
// the policy is not consulted, in both directions; a TLSA lookup that failed
// defers (RFC 7672 §2.1) rather than fall back to the weaker proof.
Demand sts_or_dane(TlsLevel level, const Partner& p, const MxFacts& mx, const HostFacts& host,
                   Dane dane, const MtaStsFacts& sts) {
    if (dane == Dane::Usable) return dane_demand(level, p, mx, host);
    // A TLSA lookup that should have happened and did not also defers.
    if (auto fail = tlsa_failure(level, dane, host)) return *fail;
    return mta_sts_demand(level, p, sts, host);
}

// Why `authenticated` has no route, in the words of the table's row.
std::string unauthenticatable(const MxFacts& mx, const HostFacts& host, const Partner& p,
                              const MtaStsFacts& sts) {
    std::string sts_part;
    if (!p.mta_sts) {
        sts_part = "MTA-STS is switched off for this partner (mta_sts: false)";
    } else if (sts.mode == MtaStsFacts::Mode::Testing) {
        sts_part = "the MTA-STS policy of " + mx.domain + " is in testing mode";
    } else if (!sts.note.empty()) {
        sts_part = sts.note;
    } else {
        sts_part = "no MTA-STS policy in enforce mode for " + mx.domain;
    }
    return "no DANE: the MX record of " + mx.domain +
           " is not DNSSEC-secure, so the TLSA records of " + host.name +
           " cannot count; no MTA-STS: " + sts_part + "; no PKIX with the MX name: " +
           "that needs a DNSSEC-secure MX record. The server cannot be authenticated";
}

// The configured level's demand, MTA-STS included, before `mode` is applied.
// `sts_shadow` receives the would-be demand of an MTA-STS testing policy.
Demand configured_demand(const Partner& p, const MxFacts& mx, const HostFacts& host,
                         const MtaStsFacts& sts, std::optional<Demand>& sts_shadow) {
    const TlsLevel level = p.tls;
    const Dane dane = dane_state(mx, host);
    // An MTA-STS enforce policy raises the opportunistic levels (may, encrypt,
    // dane without usable TLSA) to authenticated TLS: DANE where usable TLSA
    // exist, else the policy. A testing policy is judged on the side, and
    // only where DANE does not decide.
    auto with_mta_sts = [&](Demand base) {
        if (!p.mta_sts) return base;
        switch (sts.mode) {
            case MtaStsFacts::Mode::None:
                return base;
            case MtaStsFacts::Mode::Enforce:
                return sts_or_dane(level, p, mx, host, dane, sts);
            case MtaStsFacts::Mode::Testing:
                if (dane != Dane::Usable) sts_shadow = sts_or_dane(level, p, mx, host, dane, sts);
                return base;
        }
        return base;
    };
    switch (level) {
        case TlsLevel::None: {
            Demand d = opportunistic(level, "tls: none: STARTTLS is never tried");
            d.starttls = Starttls::Never;
            return d;
        }
        case TlsLevel::May:
            return with_mta_sts(
                opportunistic(level, "may: STARTTLS when offered, plaintext otherwise"));
        case TlsLevel::Encrypt:
            return with_mta_sts(required(level, p, AuthMethod::None,
                                         "encrypt: STARTTLS required, no authentication"));
        case TlsLevel::Fingerprint: {
            Demand d =
                required(level, p, AuthMethod::Fingerprint,
                         "fingerprint: the certificate or key must be one of the pinned digests");
            d.check.fingerprints = p.fingerprints;
            return d;
        }
        case TlsLevel::Verify: {
            Demand d = required(level, p, AuthMethod::Pkix,
                                "verify: PKIX chain, certificate name " + host.name);
            d.check.names.push_back(host.name);
            return d;
        }
        case TlsLevel::Secure: {
            Demand d = required(level, p, AuthMethod::Pkix, "");
            if (!p.match.empty()) {
                d.check.names = p.match;
            } else {  // default: the next-hop domain and its subdomains
                d.check.names = {mx.domain, "." + mx.domain};
            }
            std::string names;
            for (const auto& n : d.check.names) names += (names.empty() ? "" : ", ") + n;
            d.why = "secure: PKIX chain, certificate name in " + names;
            return d;
        }
        case TlsLevel::Dane:
            if (auto fail = tlsa_failure(level, dane, host)) return *fail;
            switch (dane) {
                case Dane::Usable:
                    return dane_demand(level, p, mx, host);
                case Dane::Unusable:
                    // RFC 7672 §2.2: STARTTLS is required even when every TLSA record is unusable
                    return with_mta_sts(
                        required(level, p, AuthMethod::None,
                                 "TLSA records at " + tlsa_name(host) +
                                     " are all unusable: encryption required, no authentication"));
                case Dane::NoRecords:
                    return with_mta_sts(opportunistic(
                        level, "no TLSA records for " + host.name + ": STARTTLS when offered"));
                case Dane::NotApplicable:
                case Dane::Bogus:
                case Dane::TempFail:
                case Dane::NotLookedUp:
                    return with_mta_sts(opportunistic(
                        level,
                        "MX host " + host.name + " is not DNSSEC-secure: STARTTLS when offered"));
            }
            return refuse(level, Gate::Defer, Reason::Unknown, "unexpected TLSA state");
        case TlsLevel::DaneOnly:
            if (auto fail = tlsa_failure(level, dane, host)) return *fail;
            switch (dane) {
                case Dane::Usable:
                    return dane_demand(level, p, mx, host);
                case Dane::Unusable:
                case Dane::NoRecords:
                    return refuse(level, Gate::TlsFailure, Reason::NoUsableTlsa,
                                  host.name + " has no usable DANE TLSA records");
                case Dane::NotApplicable:
                case Dane::Bogus:
                case Dane::TempFail:
                case Dane::NotLookedUp:
                    return refuse(
                        level, Gate::TlsFailure, Reason::NoDnssec,
                        "the MX host " + host.name + " is not DNSSEC-secure, so DANE cannot apply");
            }
            return refuse(level, Gate::Defer, Reason::Unknown, "unexpected TLSA state");
        case TlsLevel::Authenticated:
            // RFC 8689 §4.1, the table's row: DANE where usable TLSA exist ...
            if (auto fail = tlsa_failure(level, dane, host)) return *fail;
            if (dane == Dane::Usable) return dane_demand(level, p, mx, host);
            // ... else an MTA-STS policy in enforce mode ...
            if (p.mta_sts && sts.mode == MtaStsFacts::Mode::Enforce)
                return mta_sts_demand(level, p, sts, host);
            // ... else PKIX with the MX name, only when that name is not spoofable.
            if (host_name_secure(mx, host)) {
                Demand d = required(level, p, AuthMethod::Pkix,
                                    "no DANE or MTA-STS; MX " + host.name +
                                        " is DNSSEC-secure: PKIX with the MX host name");
                d.check.names.push_back(host.name);
                return d;
            }
            return refuse(level, Gate::TlsFailure, Reason::NoDnssec,
                          unauthenticatable(mx, host, p, sts));
    }
    return refuse(level, Gate::Defer, Reason::Unknown, "unknown TLS level");
}

Outcome fail(Verdict v, Reason r, std::string detail) {
    Outcome o;
    o.verdict = v;
    o.reason = r;
    o.detail = std::move(detail);
    return o;
}

Outcome deliver(AuthLabel a) {
    Outcome o;
    o.verdict = Verdict::Deliver;
    o.auth = a;
    return o;
}

// One demand against the facts of one connection.
Outcome judge_demand(const Demand& d, const std::string& host, const TlsFacts& f) {
    switch (d.gate) {
        case Gate::Connect:
            break;
        case Gate::Defer:
            return fail(Verdict::TempFail, d.reason, d.detail);
        case Gate::TlsFailure:
            return fail(Verdict::TlsFailure, d.reason, d.detail);
    }
    if (!f.connected)
        return fail(Verdict::TempFail, Reason::ConnectFailed, "could not connect to " + host);
    switch (d.starttls) {
        case Starttls::Never:
            return deliver(AuthLabel::Plaintext);
        case Starttls::IfOffered:
            if (!f.starttls_offered || !f.starttls_accepted) return deliver(AuthLabel::Plaintext);
            if (!f.handshake_ok)
                return fail(Verdict::RetryWithoutTls, Reason::HandshakeFailed,
                            "the TLS handshake with " + host + " failed");
            return deliver(AuthLabel::None);
        case Starttls::Required:
            break;
    }
    if (!f.starttls_offered)
        return fail(Verdict::TlsFailure, Reason::StartTlsNotOffered,
                    "the receiving server " + host + " does not offer encryption (STARTTLS)");
    if (!f.starttls_accepted)
        return fail(Verdict::TlsFailure, Reason::StartTlsRefused,
                    "the receiving server " + host + " refused to start encryption");
    if (!f.handshake_ok) {
        if (f.version_rejected)
            return fail(Verdict::TlsFailure, Reason::TlsVersionTooLow,
                        "the receiving server " + host + " only offers outdated TLS versions");
        return fail(Verdict::TlsFailure, Reason::HandshakeFailed,
                    "encryption with the receiving server " + host + " could not be set up");
    }
    if (d.check.min_version != TlsVersion::Unknown) {
        if (f.version == TlsVersion::Unknown)
            return fail(Verdict::TempFail, Reason::Unknown, "the TLS version is not known");
        if (f.version < d.check.min_version)
            return fail(Verdict::TlsFailure, Reason::TlsVersionTooLow,
                        "the receiving server " + host + " negotiated " +
                            std::string(to_string(f.version)) + ", below the required " +
                            std::string(to_string(d.check.min_version)));
    }
    switch (d.check.auth) {
        case AuthMethod::None:
            return deliver(AuthLabel::None);
        case AuthMethod::Fingerprint:
            if (!pinned(d.check.fingerprints, f.cert_sha256, f.spki_sha256))
                return fail(
                    Verdict::TlsFailure, Reason::FingerprintMismatch,
                    "the certificate of " + host + " is not one of the pinned certificates");
            return deliver(AuthLabel::Fingerprint);
        case AuthMethod::Pkix:
        case AuthMethod::MtaSts:
            if (!f.chain_ok)
                return fail(Verdict::TlsFailure, Reason::CertificateChain,
                            "the certificate of " + host + " is not issued by a trusted authority");
            if (!f.name_ok)
                return fail(Verdict::TlsFailure, Reason::CertificateName,
                            "the certificate of " + host + " is not issued to the expected name");
            return deliver(d.check.auth == AuthMethod::MtaSts ? AuthLabel::MtaSts
                                                              : AuthLabel::Pkix);
        case AuthMethod::Dane:
            switch (f.dane) {
                case DaneAuthority::Ee:
                    return deliver(AuthLabel::DaneEe);
                case DaneAuthority::Ta:
                    // RFC 7672 §3.2.3: DANE-TA requires a name check.
                    if (!f.name_ok)
                        return fail(
                            Verdict::TlsFailure, Reason::CertificateName,
                            "the certificate of " + host + " is not issued to the expected name");
                    return deliver(AuthLabel::DaneTa);
                case DaneAuthority::None:
                    return fail(
                        Verdict::TlsFailure, Reason::TlsaMismatch,
                        "the certificate of " + host + " does not match its DANE TLSA records");
            }
            return fail(Verdict::TempFail, Reason::Unknown, "unknown DANE result");
    }
    return fail(Verdict::TempFail, Reason::Unknown, "unknown authentication method");
}

}  // namespace

std::optional<Outcome> check_destination(const MxFacts& mx) {
    switch (mx.state) {
        case DnsState::Bogus:
            return fail(Verdict::TempFail, Reason::DnssecBogus,
                        "the MX records of " + mx.domain + " fail DNSSEC validation");
        case DnsState::TempFail:
            return fail(Verdict::TempFail, Reason::DnsTempFail,
                        "the MX lookup for " + mx.domain + " failed (DNS server failure)");
        case DnsState::Secure:
        case DnsState::Insecure:
        case DnsState::NotFound:
            break;
    }
    // RFC 7505 §3: a domain with a null MX accepts no mail; do not try its address.
    if (mx.null_mx)
        return fail(Verdict::PermFail, Reason::NullMx,
                    mx.domain + " does not accept mail (null MX)");
    if (mx.hosts.empty()) {
        if (mx.state == DnsState::NotFound)
            return fail(Verdict::PermFail, Reason::NoSuchDomain,
                        "the domain " + mx.domain + " does not exist");
        return fail(Verdict::TempFail, Reason::Unknown, "no mail server found for " + mx.domain);
    }
    return std::nullopt;
}

Requirement requirement_for_host(const Partner& partner, const MxFacts& mx, const HostFacts& host,
                                 const MtaStsFacts& sts, bool requiretls) {
    Requirement req;
    req.host = host.name;
    req.requiretls = requiretls;
    // Address lookups that failed decide before any level: always a deferral.
    switch (host.address) {
        case DnsState::Secure:
        case DnsState::Insecure:
            break;
        case DnsState::Bogus:
            req.apply = refuse(partner.tls, Gate::Defer, Reason::DnssecBogus,
                               "the address of " + host.name + " fails DNSSEC validation");
            return req;
        case DnsState::TempFail:
            req.apply = refuse(partner.tls, Gate::Defer, Reason::DnsTempFail,
                               "the address lookup for " + host.name + " failed");
            return req;
        case DnsState::NotFound:
            req.apply =
                refuse(partner.tls, Gate::Defer, Reason::NoAddress, host.name + " has no address");
            return req;
    }
    std::optional<Demand> sts_shadow;
    Demand configured = configured_demand(partner, mx, host, sts, sts_shadow);
    // RFC 8689 §4.2.1: REQUIRETLS needs the MX from DNSSEC or MTA-STS and the
    // server authenticated. When no route to that exists, the report names
    // REQUIRETLS (5.7.30), the sender's own request, not a missing DNSSEC.
    if (requiretls && configured.gate == Gate::TlsFailure &&
        configured.reason == Reason::NoDnssec) {
        configured.reason = Reason::RequireTlsUnauthenticated;
        configured.detail =
            "the sender asked for REQUIRETLS, which needs an authenticated server: " +
            configured.detail;
        configured.why = configured.detail;
    }
    switch (partner.mode) {
        case Mode::Enforce:
            req.apply = std::move(configured);
            req.shadow = std::move(sts_shadow);
            break;
        case Mode::Testing:
            // Deliver as under `may`; judge the configured level on the side.
            req.apply = opportunistic(TlsLevel::May, "mode: testing: delivered as under may");
            req.shadow = std::move(configured);
            break;
    }
    return req;
}

std::optional<Outcome> before_connect(const Requirement& req) {
    if (req.apply.gate == Gate::Connect) return std::nullopt;
    return judge_demand(req.apply, req.host, TlsFacts{});
}

Outcome judge(const Requirement& req, const TlsFacts& facts) {
    Outcome o = judge_demand(req.apply, req.host, facts);
    if (req.shadow) {
        const Outcome s = judge_demand(*req.shadow, req.host, facts);
        switch (s.verdict) {
            case Verdict::Deliver:
                // What was observed authenticates the peer: say so in the log.
                if (o.verdict == Verdict::Deliver && o.auth != AuthLabel::Plaintext)
                    o.auth = s.auth;
                break;
            case Verdict::RetryWithoutTls:
                break;
            case Verdict::TlsFailure:
            case Verdict::TempFail:
            case Verdict::PermFail:
                o.would_fail = s.reason;
                o.would_fail_detail = s.detail;
                break;
        }
    }
    // RFC 8689 §4.2.1: a REQUIRETLS message goes only over TLS to an
    // authenticated server that offers REQUIRETLS itself.
    if (o.verdict == Verdict::Deliver && req.requiretls) {
        if (o.auth == AuthLabel::Plaintext || o.auth == AuthLabel::None)
            return fail(Verdict::TlsFailure, Reason::RequireTlsUnauthenticated,
                        "the sender asked for REQUIRETLS, which needs an authenticated TLS "
                        "connection; " +
                            req.host + " was not authenticated");
        if (!facts.requiretls_offered)
            return fail(Verdict::TlsFailure, Reason::RequireTlsNotOffered,
                        "the receiving server " + req.host + " does not support REQUIRETLS");
    }
    return o;
}

Requirement plaintext_retry(Requirement req) {
    req.apply.starttls = Starttls::Never;
    return req;
}

}  // namespace chainmail::policy
