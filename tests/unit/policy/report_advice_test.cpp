// The advice of `chainmail report` per partner and domain, as a table.
#include <catch2/catch.hpp>

#include "policy/report_advice.hpp"

using namespace chainmail::policy;

namespace {

struct Facts {
    RowFacts f;
    Facts& level(TlsLevel l) {
        f.level = l;
        return *this;
    }
    Facts& testing(std::uint64_t would_fail = 0) {
        f.mode = Mode::Testing;
        f.would_fail = would_fail;
        f.top_would_fail = "no-usable-tlsa";
        return *this;
    }
    Facts& n(AuthLabel a, std::uint64_t c) {
        f.by_auth[static_cast<std::size_t>(a)] = c;
        return *this;
    }
    Facts& tls_failures(std::uint64_t c) {
        f.tls_failures = c;
        f.top_tls_failure = "starttls-not-offered";
        return *this;
    }
};

}  // namespace

TEST_CASE("advice per row") {
    struct Row {
        Facts facts;
        Severity severity;
        std::string first;  // the first advice's text contains this
        std::optional<TlsLevel> safe;
    };
    const Row rows[] = {
        {Facts{}.level(TlsLevel::Dane).n(AuthLabel::DaneEe, 1204), Severity::Good,
         "all 1,204 deliveries in 30 days were DANE-authenticated: dane-only is safe",
         TlsLevel::DaneOnly},
        {Facts{}.level(TlsLevel::DaneOnly).n(AuthLabel::DaneTa, 5), Severity::Good,
         "under dane-only: nothing to do", TlsLevel::DaneOnly},
        {Facts{}.level(TlsLevel::May).n(AuthLabel::None, 37).n(AuthLabel::Plaintext, 3),
         Severity::Act,
         "3 of 40 deliveries fell back to plaintext: ask the partner to enable STARTTLS",
         TlsLevel::May},
        {Facts{}.level(TlsLevel::DaneOnly).testing(0).n(AuthLabel::DaneEe, 312), Severity::Good,
         "0 of 312 deliveries would have failed under dane-only: safe to enforce",
         TlsLevel::DaneOnly},
        {Facts{}
             .level(TlsLevel::DaneOnly)
             .testing(12)
             .n(AuthLabel::DaneEe, 300)
             .n(AuthLabel::None, 12),
         Severity::Act,
         "12 of 312 deliveries would have failed under dane-only (mostly no-usable-tlsa)",
         TlsLevel::Encrypt},
        {Facts{}.level(TlsLevel::Encrypt).tls_failures(4).n(AuthLabel::None, 10), Severity::Act,
         "4 deliveries failed on TLS (mostly starttls-not-offered)", TlsLevel::Encrypt},
        {Facts{}.level(TlsLevel::Verify).n(AuthLabel::Pkix, 50), Severity::Good,
         "authenticated (PKIX 50): verify is safe; ask the partner to publish DANE",
         TlsLevel::Verify},
        {Facts{}.level(TlsLevel::Authenticated).n(AuthLabel::MtaSts, 8), Severity::Good,
         "authenticated is safe", TlsLevel::Authenticated},
        {Facts{}.level(TlsLevel::Dane).n(AuthLabel::DaneEe, 5).n(AuthLabel::Pkix, 5),
         Severity::Good, "not all by one method: encrypt is safe", TlsLevel::Encrypt},
        {Facts{}.level(TlsLevel::Encrypt).n(AuthLabel::None, 9), Severity::Warn,
         "encrypted, 9 without authentication: encrypt is safe", TlsLevel::Encrypt},
        {Facts{}.level(TlsLevel::Dane), Severity::Note, "no mail in this period", std::nullopt},
    };
    for (const Row& r : rows) {
        const auto advice = advise(r.facts.f);
        REQUIRE_FALSE(advice.empty());
        INFO(advice.front().text);
        CHECK(advice.front().severity == r.severity);
        CHECK(advice.front().text.find(r.first) != std::string::npos);
        CHECK(strongest_safe(r.facts.f) == r.safe);
    }
}

TEST_CASE("a regression comes first in the advice") {
    Facts f = Facts{}.level(TlsLevel::DaneOnly).n(AuthLabel::DaneEe, 10).n(AuthLabel::None, 2);
    f.f.regression = Regression{20, Protection::Dane, Protection::Encrypted, 2, 5, 1};
    f.f.regression_date = "2026-11-20";
    const auto advice = advise(f.f);
    CHECK(advice.front().severity == Severity::Act);
    CHECK(advice.front().text.find("weaker on 2026-11-20: was DANE-authenticated, now only "
                                   "encrypted") != std::string::npos);
}

TEST_CASE("thousands") {
    CHECK(thousands(0) == "0");
    CHECK(thousands(999) == "999");
    CHECK(thousands(1204) == "1,204");
    CHECK(thousands(1234567) == "1,234,567");
}
