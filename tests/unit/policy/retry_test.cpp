#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "policy/retry.hpp"

using namespace chainmail;
using namespace chainmail::policy;
using namespace std::chrono_literals;

TEST_CASE("the retry schedule is followed and its last step repeats") {
    config::Queue q;  // [1m, 5m, 15m, 30m, 1h], 5d
    struct Row {
        std::uint32_t failed;
        std::chrono::seconds delay;
    };
    const Row rows[] = {{1, 1min}, {2, 5min}, {3, 15min}, {4, 30min}, {5, 1h}, {6, 1h}, {50, 1h}};
    for (const Row& r : rows) {
        INFO("after failure " << r.failed);
        CHECK(retry_delay(q, r.failed) == r.delay);
    }
}

TEST_CASE("jitter spreads the next attempt between 0.9 and 1.1 times the step") {
    config::Queue q;
    const TimePoint arrival{std::chrono::hours(1000)};
    const TimePoint now = arrival + 10min;
    CHECK(next_attempt(q, 3, now, arrival, 0.0) == now + 810s);
    CHECK(next_attempt(q, 3, now, arrival, 0.5) == now + 900s);
    CHECK(next_attempt(q, 3, now, arrival, 0.999999) < now + 990s);
    CHECK(next_attempt(q, 3, now, arrival, 0.999999) > now + 989s);
}

TEST_CASE("the last attempt happens at expiry, then the recipient has expired") {
    config::Queue q;
    q.max_lifetime = 2h;
    const TimePoint arrival{std::chrono::hours(1000)};
    const TimePoint late = arrival + 1h + 30min;
    CHECK(next_attempt(q, 9, late, arrival, 0.5) == arrival + 2h);
    CHECK_FALSE(expired(q, arrival, arrival + 2h - 1s));
    CHECK(expired(q, arrival, arrival + 2h));
}

TEST_CASE("a delay notice is due once, after delay_warning_after, unless turned off") {
    config::Queue q;  // 4h
    const TimePoint arrival{std::chrono::hours(1000)};
    CHECK_FALSE(delay_warning_due(q, arrival, arrival + 3h, false));
    CHECK(delay_warning_due(q, arrival, arrival + 4h, false));
    CHECK_FALSE(delay_warning_due(q, arrival, arrival + 4h, true));
    q.delay_warning_after = 0s;
    CHECK_FALSE(delay_warning_due(q, arrival, arrival + 10h, false));
}
