#include "policy/protection.hpp"

#include <algorithm>
#include <optional>

namespace chainmail::policy {

std::string_view to_string(Protection p) {
    switch (p) {
        case Protection::Failing:
            return "failing";
        case Protection::Plaintext:
            return "plaintext";
        case Protection::Encrypted:
            return "encrypted";
        case Protection::Authenticated:
            return "authenticated";
        case Protection::Dane:
            return "dane";
    }
    return "?";
}

std::string_view describe(Protection p) {
    switch (p) {
        case Protection::Failing:
            return "failing on TLS";
        case Protection::Plaintext:
            return "in plaintext";
        case Protection::Encrypted:
            return "only encrypted";
        case Protection::Authenticated:
            return "authenticated by PKIX, MTA-STS or fingerprint";
        case Protection::Dane:
            return "DANE-authenticated";
    }
    return "?";
}

std::optional<AuthLabel> parse_auth(std::string_view auth, bool has_tls) {
    if (!has_tls) return AuthLabel::Plaintext;
    if (auth == "dane-ee") return AuthLabel::DaneEe;
    if (auth == "dane-ta") return AuthLabel::DaneTa;
    if (auth == "pkix") return AuthLabel::Pkix;
    if (auth == "mta-sts") return AuthLabel::MtaSts;
    if (auth == "fingerprint") return AuthLabel::Fingerprint;
    if (auth == "none" || auth.empty()) return AuthLabel::None;
    return std::nullopt;
}

Protection protection_of(AuthLabel a) {
    switch (a) {
        case AuthLabel::DaneEe:
        case AuthLabel::DaneTa:
            return Protection::Dane;
        case AuthLabel::Pkix:
        case AuthLabel::MtaSts:
        case AuthLabel::Fingerprint:
            return Protection::Authenticated;
        case AuthLabel::None:
            return Protection::Encrypted;
        case AuthLabel::Plaintext:
            return Protection::Plaintext;
    }
    return Protection::Plaintext;
}

bool is_tls_failure(std::string_view reason, std::string_view dsn) {
    if (!reason.empty()) {
        const std::optional<Reason> r = parse_reason(reason);
        return r && is_tls_failure(*r);
    }
    if (dsn.size() < 5) return false;
    const std::string_view rest = dsn.substr(1);  // ".7.10" for 4.7.10 and 5.7.10
    return rest == ".7.10" || rest == ".7.5" || rest == ".7.4" || rest == ".7.30";
}

std::vector<Regression> find_regressions(const std::vector<DayProtection>& days) {
    std::vector<Regression> out;
    bool started = false;
    Protection held = Protection::Dane;
    std::int64_t since = 0;
    for (const DayProtection& d : days) {
        std::optional<Protection> weakest;
        std::uint64_t total = 0;
        for (std::size_t k = 0; k < kProtections; ++k) {
            total += d.count[k];
            if (d.count[k] && !weakest) weakest = static_cast<Protection>(k);
        }
        if (!weakest) continue;  // nothing that day: nothing changed
        if (!started) {
            started = true;
            held = *weakest;
            since = d.day;
            continue;
        }
        if (*weakest < held) {
            Regression r{d.day, held, *weakest, 0, total, since};
            for (std::size_t k = 0; k < static_cast<std::size_t>(held); ++k) r.weaker += d.count[k];
            out.push_back(r);
        }
        if (*weakest != held) {
            held = *weakest;
            since = d.day;
        }
    }
    return out;
}

std::optional<Regression> ProtectionTrack::observe(std::int64_t day, Protection p) {
    if (!started_) {
        started_ = true;
        day_ = held_since_ = day;
        held_ = today_ = p;
        today_total_ = 1;
        return std::nullopt;
    }
    if (day > day_) {
        // The day that ended sets what holds now (as find_regressions does).
        if (today_ != held_) {
            held_ = today_;
            held_since_ = day_;
        }
        day_ = day;
        today_ = p;
        today_total_ = today_weaker_ = 0;
        flagged_ = false;
    }
    ++today_total_;
    today_ = std::min(today_, p);
    if (day_ == held_since_ && !flagged_) {  // still the first day: it sets the baseline
        held_ = std::min(held_, p);
        return std::nullopt;
    }
    if (p < held_) ++today_weaker_;
    if (p < held_ && !flagged_) {
        flagged_ = true;
        return Regression{day_, held_, p, today_weaker_, today_total_, held_since_};
    }
    return std::nullopt;
}

}  // namespace chainmail::policy
