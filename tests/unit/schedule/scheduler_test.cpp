// The scheduler as tables: time is passed in, the spool is a vector.
#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "relay/schedule/scheduler.hpp"
#include "tests/unit/schedule/scheduler_fixture.hpp"

using namespace chainmail;
using schedule::Pick;
using schedule_test::make_config;
using schedule_test::message;

TEST_CASE("destinations: a partner's next hop groups its domains; others go by domain") {
    const auto cfg = make_config();
    CHECK(schedule::destination_of(cfg, "x@west.test") == "west [mx.west.test]:2525");
    CHECK(schedule::destination_of(cfg, "y@afd.west.test") == "west [mx.west.test]:2525");
    CHECK(schedule::destination_of(cfg, "z@Other.TEST") == "defaults other.test");
}

TEST_CASE("due recipients are picked per destination, oldest message first") {
    const auto cfg = make_config();
    schedule::Scheduler s(cfg);
    std::vector<spool::Envelope> live{
        message("A", {"1@west.test", "2@other.test", "3@afd.west.test"}),
        message("B", {"4@west.test"})};
    Pick p = s.next(live, 1000);
    Pick q = s.next(live, 1000);
    REQUIRE(p.kind == Pick::Kind::Ready);
    REQUIRE(q.kind == Pick::Kind::Ready);
    CHECK(p.batch.id == "A");
    CHECK(q.batch.id == "A");
    if (p.destination != "west [mx.west.test]:2525") std::swap(p, q);
    // Both recipients behind the same next hop travel together.
    CHECK(p.destination == "west [mx.west.test]:2525");
    CHECK(p.batch.rcpts == std::vector<std::size_t>{0, 2});
    CHECK(q.destination == "defaults other.test");
    CHECK(q.batch.rcpts == std::vector<std::size_t>{1});
    // The worker of west takes B over its connection without a new slot.
    auto b = s.next_for(p.destination, live, 1000);
    CHECK(b.id == "B");
    CHECK(s.active(p.destination) == 1);
    CHECK(s.next(live, 1000).kind == Pick::Kind::Sleep);  // all in flight
}

TEST_CASE("per-destination and total caps") {
    const auto cfg = make_config(/*per_dest=*/1, /*total=*/2);
    schedule::Scheduler s(cfg);
    std::vector<spool::Envelope> live{message("A", {"1@west.test"}), message("B", {"2@west.test"}),
                                      message("C", {"3@c.test"}), message("D", {"4@d.test"})};
    Pick a = s.next(live, 0);
    CHECK(a.batch.id == "A");
    Pick c = s.next(live, 0);  // B is capped behind A's worker: C goes first
    CHECK(c.batch.id == "C");
    CHECK(s.next(live, 0).kind == Pick::Kind::Sleep);           // total cap of 2 reached
    live[0].recipients[0].state = spool::RcptState::Delivered;  // as settle() records it
    s.done(a.batch);
    s.release(a.destination);
    Pick b = s.next(live, 0);
    CHECK(b.batch.id == "B");
}

TEST_CASE("not yet due, held, delivered and failed recipients are skipped") {
    const auto cfg = make_config();
    schedule::Scheduler s(cfg);
    auto held = message("H", {"1@west.test"});
    held.held = true;
    auto later = message("L", {"2@west.test"}, 5000);
    auto done = message("D", {"3@west.test", "4@west.test"});
    done.recipients[0].state = spool::RcptState::Delivered;
    done.recipients[1].state = spool::RcptState::Failed;
    std::vector<spool::Envelope> live{held, later, done};
    Pick p = s.next(live, 1000);
    REQUIRE(p.kind == Pick::Kind::Sleep);
    CHECK(p.wake_ms == 5000);  // the retry timer
    Pick r = s.next(live, 5000);
    REQUIRE(r.kind == Pick::Kind::Ready);
    CHECK(r.batch.id == "L");
    CHECK(schedule::Scheduler(cfg).next({done}, 1000).kind == Pick::Kind::Empty);
}
