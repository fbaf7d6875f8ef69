#include "policy/report_advice.hpp"

namespace chainmail::policy {

namespace {

std::uint64_t of(const RowFacts& f, AuthLabel a) {
    return f.by_auth[static_cast<std::size_t>(a)];
}

std::string period(const RowFacts& f) {
    return f.days == 1 ? "in 1 day" : "in " + std::to_string(f.days) + " days";
}

}  // namespace

std::string_view to_string(Severity s) {
    switch (s) {
        case Severity::Good:
            return "good";
        case Severity::Note:
            return "note";
        case Severity::Warn:
            return "warn";
        case Severity::Act:
            return "act";
    }
    return "?";
}

std::string thousands(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t k = 0; k < digits.size(); ++k) {
        if (k && (digits.size() - k) % 3 == 0) out.push_back(',');
        out.push_back(digits[k]);
    }
    return out;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return thousands(n) + " " + std::string(n == 1 ? one : many);
}

std::uint64_t deliveries(const RowFacts& f) {
    std::uint64_t n = 0;
    for (std::uint64_t c : f.by_auth) n += c;
    return n;
}

std::optional<TlsLevel> strongest_safe(const RowFacts& f) {
    const std::uint64_t n = deliveries(f);
    if (n == 0) return std::nullopt;
    const std::uint64_t dane = of(f, AuthLabel::DaneEe) + of(f, AuthLabel::DaneTa);
    const std::uint64_t pkix = of(f, AuthLabel::Pkix) + of(f, AuthLabel::MtaSts);
    if (of(f, AuthLabel::Plaintext) > 0) return TlsLevel::May;
    if (dane == n) return TlsLevel::DaneOnly;
    if (of(f, AuthLabel::MtaSts) == n) return TlsLevel::Authenticated;  // RFC 8461 enforce
    if (pkix == n) return TlsLevel::Verify;  // a valid certificate for the MX name
    if (of(f, AuthLabel::Fingerprint) == n) return TlsLevel::Fingerprint;
    return TlsLevel::Encrypt;  // every delivery was encrypted; no one method proved them all
}

std::vector<Advice> advise(const RowFacts& f) {
    std::vector<Advice> out;
    const std::uint64_t n = deliveries(f);
    const std::string level = f.level ? std::string(to_string(*f.level)) : "its level";
    if (n == 0 && f.tls_failures == 0 && f.other_failures == 0)
        return {{Severity::Note, "no mail in this period: nothing to judge yet"}};

    if (f.regression)
        out.push_back({Severity::Act, "protection got weaker on " + f.regression_date + ": was " +
                                          std::string(describe(f.regression->was)) + ", now " +
                                          std::string(describe(f.regression->now)) +
                                          "; ask the partner what changed (MX, certificate, "
                                          "TLSA records)"});
    if (f.mode == Mode::Testing && n > 0) {
        if (f.would_fail == 0)
            out.push_back({Severity::Good, "0 of " + thousands(n) +
                                               " deliveries would have failed under " + level +
                                               ": safe to enforce"});
        else
            out.push_back({Severity::Act, thousands(f.would_fail) + " of " + thousands(n) +
                                              " deliveries would have failed under " + level +
                                              " (mostly " + f.top_would_fail +
                                              "): not yet safe to enforce; ask the partner to "
                                              "fix this first"});
    }
    const std::uint64_t plain = of(f, AuthLabel::Plaintext);
    if (plain > 0)
        out.push_back({Severity::Act, thousands(plain) + " of " + thousands(n) +
                                          " deliveries fell back to plaintext: ask the partner "
                                          "to enable STARTTLS"});
    if (f.tls_failures > 0)
        out.push_back(
            {Severity::Act, plural(f.tls_failures, "delivery", "deliveries") +
                                " failed on TLS (mostly " + f.top_tls_failure +
                                "): the partner's server does not meet " + level +
                                "; ask the partner to fix it, or choose a level it meets"});
    if (f.old_tls > 0)
        out.push_back({Severity::Warn, thousands(f.old_tls) + " of " + thousands(n) +
                                           " deliveries used TLS 1.0 or 1.1, which the NCSC-NL "
                                           "guidelines rate insufficient: ask the partner to "
                                           "enable TLS 1.2 or 1.3"});
    if (n == 0 || plain > 0 || f.tls_failures > 0) {
        if (out.empty())
            out.push_back({Severity::Note, plural(f.other_failures, "attempt", "attempts") +
                                               " failed for reasons other than TLS and nothing "
                                               "was delivered: nothing to judge yet"});
        return out;
    }
    const std::uint64_t dane = of(f, AuthLabel::DaneEe) + of(f, AuthLabel::DaneTa);
    const std::uint64_t none = of(f, AuthLabel::None);
    const std::optional<TlsLevel> safe = strongest_safe(f);
    const std::string all = "all " + thousands(n) + (n == 1 ? " delivery " : " deliveries ") +
                            period(f) + (n == 1 ? " was " : " were ");
    if (dane == n) {
        if (f.level == TlsLevel::DaneOnly && f.mode != Mode::Testing)
            out.push_back(
                {Severity::Good, all + "DANE-authenticated under dane-only: nothing to do"});
        else
            out.push_back({Severity::Good, all + "DANE-authenticated: dane-only is safe"});
    } else if (none == 0) {
        std::string how;
        auto add = [&](AuthLabel a, std::string_view name) {
            if (of(f, a))
                how += (how.empty() ? "" : ", ") + std::string(name) + " " + thousands(of(f, a));
        };
        add(AuthLabel::DaneEe, "DANE-EE");
        add(AuthLabel::DaneTa, "DANE-TA");
        add(AuthLabel::MtaSts, "MTA-STS");
        add(AuthLabel::Pkix, "PKIX");
        add(AuthLabel::Fingerprint, "fingerprint");
        std::string text = all + "authenticated (" + how + ")";
        if (safe == TlsLevel::Encrypt)
            text +=
                ", but not all by one method: encrypt is safe; ask the partner for DANE on "
                "every MX host to go further";
        else
            text +=
                ": " + std::string(to_string(*safe)) + " is safe" +
                (dane == 0 ? "; ask the partner to publish DANE (TLSA) records to go further" : "");
        out.push_back({Severity::Good, text});
    } else {
        out.push_back({none == n ? Severity::Warn : Severity::Note,
                       all + "encrypted, " + thousands(none) +
                           " without authentication: encrypt is safe; ask the partner for DANE "
                           "(TLSA records) or a valid certificate to go further"});
    }
    return out;
}

}  // namespace chainmail::policy
