// Regressions: the day a partner's protection got weaker than it had been.
#include <catch2/catch.hpp>

#include "policy/protection.hpp"

using namespace chainmail::policy;
using P = Protection;

namespace {

// One day: {weakest..strongest} counts as a string of "F P E A D" letters.
DayProtection day(std::int64_t d, std::string_view kinds) {
    DayProtection out;
    out.day = d;
    for (char c : kinds) {
        const std::string_view letters = "FPEAD";
        ++out.count[letters.find(c)];
    }
    return out;
}

}  // namespace

TEST_CASE("regressions, as a table of daily protection") {
    struct Row {
        const char* what;
        std::vector<DayProtection> days;
        std::vector<std::tuple<std::int64_t, P, P>> want;  // day, was, now
    };
    const Row rows[] = {
        {"steady DANE", {day(1, "DDD"), day(2, "DD"), day(3, "D")}, {}},
        {"DANE, then a delivery only encrypted",
         {day(1, "DDD"), day(2, "DD"), day(3, "DDE"), day(4, "DE")},
         {{3, P::Dane, P::Encrypted}}},
        {"DANE, then failing", {day(1, "D"), day(5, "F")}, {{5, P::Dane, P::Failing}}},
        {"never better than plaintext: nothing to lose", {day(1, "PD"), day(2, "PE")}, {}},
        {"weaker, recovered, weaker again",
         {day(1, "D"), day(2, "E"), day(3, "D"), day(4, "A")},
         {{2, P::Dane, P::Encrypted}, {4, P::Dane, P::Authenticated}}},
        {"weaker twice in steps",
         {day(1, "A"), day(2, "EA"), day(3, "PA")},
         {{2, P::Authenticated, P::Encrypted}, {3, P::Encrypted, P::Plaintext}}},
        {"days without mail change nothing", {day(1, "D"), day(2, ""), day(3, "D")}, {}},
        {"no days", {}, {}},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        const auto got = find_regressions(r.days);
        REQUIRE(got.size() == r.want.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
            CHECK(got[k].day == std::get<0>(r.want[k]));
            CHECK(got[k].was == std::get<1>(r.want[k]));
            CHECK(got[k].now == std::get<2>(r.want[k]));
        }
        // The live tracker (for the metrics counter) flags the same days.
        ProtectionTrack track;
        std::vector<std::int64_t> live;
        for (const DayProtection& d : r.days)
            for (std::size_t k = kProtections; k-- > 0;)  // strongest first within a day
                for (std::uint64_t n = 0; n < d.count[k]; ++n)
                    if (auto reg = track.observe(d.day, static_cast<P>(k)))
                        live.push_back(reg->day);
        std::vector<std::int64_t> batch;
        for (const Regression& g : got) batch.push_back(g.day);
        CHECK(live == batch);
    }
}

TEST_CASE("a regression counts that day's weaker deliveries") {
    const auto got = find_regressions({day(1, "DD"), day(2, "DDEEF")});
    REQUIRE(got.size() == 1);
    CHECK(got[0].weaker == 3);
    CHECK(got[0].total == 5);
    CHECK(got[0].since_day == 1);
}

TEST_CASE("tls.auth names and TLS failures") {
    CHECK(parse_auth("dane-ee", true) == AuthLabel::DaneEe);
    CHECK(parse_auth("none", true) == AuthLabel::None);
    CHECK(parse_auth("", false) == AuthLabel::Plaintext);
    CHECK_FALSE(parse_auth("magic", true));
    CHECK(protection_of(AuthLabel::MtaSts) == P::Authenticated);
    CHECK(is_tls_failure("tlsa-mismatch", "4.7.5"));
    CHECK_FALSE(is_tls_failure("connect-failed", "4.4.1"));
    CHECK(is_tls_failure("", "5.7.10"));
    CHECK_FALSE(is_tls_failure("", "5.7.1"));  // a server's relay refusal is no TLS matter
}

TEST_CASE("a logged reason is a TLS failure exactly when its Reason is") {
    for (int i = 0; i < kReasons; ++i) {
        const auto r = static_cast<Reason>(i);
        INFO(to_string(r));
        CHECK(is_tls_failure(to_string(r), "") == is_tls_failure(r));
        // A reason in the line decides; the status code is then not looked at.
        CHECK(is_tls_failure(to_string(r), "4.7.5") == is_tls_failure(r));
    }
    CHECK_FALSE(is_tls_failure("tls-something-new", "5.7.5"));
}
