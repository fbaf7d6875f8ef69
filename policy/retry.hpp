// retry: when to try a deferred recipient again, and when it has expired.
// Pure: the current time and the random jitter are passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace chainmail::policy {

using TimePoint = std::chrono::system_clock::time_point;

// The `queue` rules of the configuration (config::Queue).
struct QueueRules {
    std::vector<std::chrono::seconds> retry_schedule{
        std::chrono::minutes(1), std::chrono::minutes(5), std::chrono::minutes(15),
        std::chrono::minutes(30), std::chrono::hours(1)};
    std::chrono::seconds max_lifetime = std::chrono::hours(24 * 5);
    std::chrono::seconds delay_warning_after = std::chrono::hours(4);  // 0: off
};

// The delay before attempt number `failed_attempts + 1`: retry_schedule
// [failed_attempts - 1], the last step repeating; `failed_attempts` >= 1.
std::chrono::seconds retry_delay(const QueueRules& queue, std::uint32_t failed_attempts);

// The next attempt after `failed_attempts` failures at `now`: the delay
// spread by jitter (`random01` in [0, 1) gives 0.9x .. 1.1x), never later
// than the expiry time, so the last attempt happens at expiry.
TimePoint next_attempt(const QueueRules& queue, std::uint32_t failed_attempts, TimePoint now,
                       TimePoint arrival, double random01);

// max_lifetime has run out: a deferred recipient now bounces with 5.4.7
// (4.4.7 in the delay notice before, RFC 3463).
bool expired(const QueueRules& queue, TimePoint arrival, TimePoint now);

// A delay notice is due (delay_warning_after > 0, not yet sent, old enough).
bool delay_warning_due(const QueueRules& queue, TimePoint arrival, TimePoint now,
                       bool already_sent);

}  // namespace chainmail::policy
