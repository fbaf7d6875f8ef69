// Queue ids are ULIDs: 26 Crockford base32 characters, strictly increasing
// within one process, so sorting ids sorts messages by arrival.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "relay/clock/wall_clock.hpp"
#include "relay/spool/spool.hpp"

using chainmail::spool::make_queue_id;
using chainmail::spool::QueueId;

namespace {
std::int64_t decode_time(const QueueId& id) {
    const std::string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::int64_t t = 0;
    for (int i = 0; i < 10; ++i) t = t * 32 + static_cast<std::int64_t>(alphabet.find(id[i]));
    return t;
}
}  // namespace

TEST_CASE("queue ids are ULIDs that encode the arrival time", "[spool]") {
    const std::int64_t now = chainmail::clock::now_ms() + 5000;  // later than any id so far
    QueueId id = make_queue_id(now);
    REQUIRE(id.size() == 26);
    REQUIRE(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ") == std::string::npos);
    REQUIRE(decode_time(id) == now);
    QueueId later = make_queue_id(now + 1000);
    REQUIRE(decode_time(later) == now + 1000);
    REQUIRE(later > id);
}

TEST_CASE("queue ids increase strictly within one millisecond and across threads", "[spool]") {
    const std::int64_t ms = chainmail::clock::now_ms() + 10000;
    QueueId prev = make_queue_id(ms);
    for (int i = 0; i < 100000; ++i) {
        QueueId next = make_queue_id(ms);  // same millisecond: the previous plus one
        REQUIRE(next > prev);
        prev = next;
    }
    // A clock that steps back does not break the order.
    REQUIRE(make_queue_id(ms - 60000) > prev);

    std::vector<std::vector<QueueId>> per(4);
    std::vector<std::thread> threads;
    for (auto& v : per)
        threads.emplace_back([&v] {
            for (int i = 0; i < 5000; ++i) v.push_back(make_queue_id(chainmail::clock::now_ms()));
        });
    for (auto& t : threads) t.join();
    std::set<QueueId> all;
    for (const auto& v : per) {
        REQUIRE(std::is_sorted(v.begin(), v.end()));
        all.insert(v.begin(), v.end());
    }
    REQUIRE(all.size() == 20000);
}
