// RFC 8461 §3.3 and §5.1 as a table: when a cached policy applies, when it
// is fetched again, and what a fetch (good, failed, mode none) leaves behind.
#include <catch2/catch.hpp>

#include "policy/mta_sts.hpp"

using namespace chainmail::policy;
using StsMode = MtaStsFacts::Mode;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

StsPolicy policy(StsMode m, std::int64_t max_age = 86400 * 7) {
    return StsPolicy{m, {"*.example.nl"}, max_age};
}

// A policy fetched `age` seconds ago under id "old".
std::optional<StsCached> cached(std::int64_t age, std::int64_t max_age = 86400 * 7) {
    return StsCached{policy(StsMode::Enforce, max_age), "old", kNow - age, kNow - age + max_age};
}

StsTxt txt(StsTxt::State s, std::string id = "old") {
    return StsTxt{s, std::move(id)};
}

struct StepRow {
    const char* what;
    std::optional<StsCached> cache;
    StsTxt txt;
    StsStep step;
};

constexpr auto Rec = StsTxt::State::Record;
constexpr auto None = StsTxt::State::NoRecord;
constexpr auto Fail = StsTxt::State::TempFail;

}  // namespace

TEST_CASE("when a policy is fetched, used from the cache, or absent (RFC 8461 section 5.1)") {
    const StepRow rows[] = {
        {"nothing cached, a record", std::nullopt, txt(Rec), StsStep::Fetch},
        {"nothing cached, no record", std::nullopt, txt(None), StsStep::NoPolicy},
        {"nothing cached, DNS fails", std::nullopt, txt(Fail), StsStep::NoPolicy},
        {"valid cache, same id", cached(3600), txt(Rec), StsStep::UseCache},
        {"valid cache, new id", cached(3600), txt(Rec, "new"), StsStep::Fetch},
        {"valid cache older than a day: refreshed", cached(86400 + 1), txt(Rec), StsStep::Fetch},
        {"valid cache, record gone", cached(3600), txt(None), StsStep::UseCache},
        {"valid cache, DNS fails", cached(3600), txt(Fail), StsStep::UseCache},
        {"expired cache, same id", cached(7200, 3600), txt(Rec), StsStep::Fetch},
        {"expired cache, record gone", cached(7200, 3600), txt(None), StsStep::NoPolicy},
        {"expired cache, DNS fails", cached(7200, 3600), txt(Fail), StsStep::NoPolicy},
    };
    for (const StepRow& row : rows) {
        INFO(row.what);
        CHECK(sts_step(row.cache, row.txt, kNow) == row.step);
    }
}

TEST_CASE("a fetched policy replaces the cache and applies at once") {
    const auto after = sts_after_fetch(cached(3600), "new", policy(StsMode::Testing, 600), kNow);
    CHECK(after.store == StsAfterFetch::Store::Replace);
    REQUIRE(after.apply);
    CHECK(after.apply->id == "new");
    CHECK(after.apply->policy.mode == StsMode::Testing);
    CHECK(after.apply->fetched_s == kNow);
    CHECK(after.apply->expires_s == kNow + 600);
}

TEST_CASE("a failed refetch keeps a valid cached policy in force (RFC 8461 section 3.3)") {
    auto after = sts_after_fetch(cached(3600), "new", std::nullopt, kNow);
    CHECK(after.store == StsAfterFetch::Store::Keep);
    REQUIRE(after.apply);
    CHECK(after.apply->id == "old");
    CHECK(after.apply->policy.mode == StsMode::Enforce);
    // Expired: no policy, and the stale file goes.
    after = sts_after_fetch(cached(7200, 3600), "old", std::nullopt, kNow);
    CHECK(after.store == StsAfterFetch::Store::Drop);
    CHECK_FALSE(after.apply);
    // Nothing cached: deliver as though the domain had no MTA-STS.
    after = sts_after_fetch(std::nullopt, "new", std::nullopt, kNow);
    CHECK(after.store == StsAfterFetch::Store::Keep);
    CHECK_FALSE(after.apply);
}

TEST_CASE("mode none drops a cached policy (RFC 8461 section 8.3)") {
    auto after = sts_after_fetch(cached(3600), "new", policy(StsMode::None), kNow);
    CHECK(after.store == StsAfterFetch::Store::Drop);
    CHECK_FALSE(after.apply);
    after = sts_after_fetch(std::nullopt, "new", policy(StsMode::None), kNow);
    CHECK(after.store == StsAfterFetch::Store::Keep);
    CHECK_FALSE(after.apply);
}

TEST_CASE("the facts carry the mode, the patterns and whether the policy is current") {
    const MtaStsFacts f = sts_facts(cached(10), false, "cached");
    CHECK(f.mode == StsMode::Enforce);
    CHECK(f.mx_patterns == std::vector<std::string>{"*.example.nl"});
    CHECK(f.id == "old");
    CHECK_FALSE(f.current);
    const MtaStsFacts none = sts_facts(std::nullopt, true, "example.nl publishes no policy");
    CHECK(none.mode == StsMode::None);
    CHECK(none.note == "example.nl publishes no policy");
}

TEST_CASE("MX patterns: a wildcard matches exactly one label (RFC 8461 section 4.1)") {
    struct Row {
        const char* pattern;
        const char* host;
        bool match;
    };
    const Row rows[] = {
        {"mx.example.nl", "mx.example.nl", true},         {"mx.example.nl", "MX.Example.NL.", true},
        {"mx.example.nl", "mx2.example.nl", false},       {"*.example.nl", "mx.example.nl", true},
        {"*.example.nl", "a.b.example.nl", false},        {"*.example.nl", "example.nl", false},
        {"*.example.nl", "mx.example.nl.evil.nl", false}, {"*.example.nl", "mxexample.nl", false},
    };
    for (const Row& r : rows) {
        INFO(r.pattern << " vs " << r.host);
        CHECK(mx_pattern_matches(r.pattern, r.host) == r.match);
    }
}
