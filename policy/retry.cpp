#include "policy/retry.hpp"

#include <algorithm>

namespace chainmail::policy {

std::chrono::seconds retry_delay(const QueueRules& queue, std::uint32_t failed_attempts) {
    if (queue.retry_schedule.empty()) return std::chrono::minutes(5);
    const std::size_t i = failed_attempts == 0 ? 0 : failed_attempts - 1;
    return queue.retry_schedule[std::min(i, queue.retry_schedule.size() - 1)];  // last repeats
}

TimePoint next_attempt(const QueueRules& queue, std::uint32_t failed_attempts, TimePoint now,
                       TimePoint arrival, double random01) {
    const double r = std::clamp(random01, 0.0, 1.0);
    const auto base =
        std::chrono::duration_cast<std::chrono::milliseconds>(retry_delay(queue, failed_attempts));
    const auto spread =
        std::chrono::milliseconds(static_cast<std::int64_t>(base.count() * (0.9 + 0.2 * r)));
    const TimePoint expiry = arrival + queue.max_lifetime;
    return std::max(now, std::min(now + spread, expiry));
}

bool expired(const QueueRules& queue, TimePoint arrival, TimePoint now) {
    return now >= arrival + queue.max_lifetime;
}

bool delay_warning_due(const QueueRules& queue, TimePoint arrival, TimePoint now,
                       bool already_sent) {
    if (already_sent || queue.delay_warning_after.count() <= 0) return false;
    return now >= arrival + queue.delay_warning_after && !expired(queue, arrival, now);
}

}  // namespace chainmail::policy
