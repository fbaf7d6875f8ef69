// The scheduler's index (rebuild/refresh, next(now), next_for(dest, now)):
// the same rules as the scans over the whole queue, and the idle connections.
#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "relay/schedule/scheduler.hpp"
#include "tests/unit/schedule/scheduler_fixture.hpp"

using namespace chainmail;
using schedule::Pick;
using schedule_test::make_config;
using schedule_test::message;

namespace {

const std::string kWest = "west [mx.west.test]:2525";

}  // namespace

TEST_CASE("index: per destination, oldest first, in flight never picked twice") {
    const auto cfg = make_config(2, 3);
    schedule::Scheduler s(cfg);
    auto a = message("A", {"1@west.test", "2@other.test", "3@afd.west.test"});
    auto b = message("B", {"4@west.test"});
    s.rebuild({b, a});
    Pick p = s.next(1000);
    Pick q = s.next(1000);
    REQUIRE(p.kind == Pick::Kind::Ready);
    REQUIRE(q.kind == Pick::Kind::Ready);
    CHECK(p.batch.id == "A");
    CHECK(q.batch.id == "A");
    if (p.destination != kWest) std::swap(p, q);
    CHECK(p.batch.rcpts == std::vector<std::size_t>{0, 2});
    CHECK(q.batch.rcpts == std::vector<std::size_t>{1});
    CHECK(s.next_for(kWest, 1000).id == "B");
    CHECK(s.next(1000).kind == Pick::Kind::Sleep);  // all in flight
    CHECK(s.next_for(kWest, 1000).rcpts.empty());
    // A periodic rescan while they are in flight does not hand them out again.
    s.rebuild({a, b});
    CHECK(s.next(1000).kind == Pick::Kind::Sleep);
    CHECK(s.next_for(kWest, 1000).rcpts.empty());
}

TEST_CASE("index: a settled attempt is re-read; delivered is never picked, deferred waits") {
    const auto cfg = make_config(1, 2);
    schedule::Scheduler s(cfg);
    auto a = message("A", {"1@west.test", "2@west.test"});
    s.rebuild({a});
    Pick p = s.next(0);
    REQUIRE(p.kind == Pick::Kind::Ready);
    CHECK(p.batch.rcpts == std::vector<std::size_t>{0, 1});
    // As settle() records it: one delivered, one deferred to 5000.
    a.recipients[0].state = spool::RcptState::Delivered;
    a.recipients[1].next_attempt_ms = 5000;
    s.done(p.batch);
    s.refresh(a.id, a);
    s.release(p.destination);
    Pick w = s.next(1000);
    REQUIRE(w.kind == Pick::Kind::Sleep);
    CHECK(w.wake_ms == 5000);
    Pick r = s.next(5000);
    REQUIRE(r.kind == Pick::Kind::Ready);
    CHECK(r.batch.rcpts == std::vector<std::size_t>{1});
    // Removed from the spool: gone from the index.
    s.done(r.batch);
    s.refresh(a.id, std::nullopt);
    s.release(r.destination);
    CHECK(s.next(9000).kind == Pick::Kind::Empty);
}

TEST_CASE("index: held is skipped until refreshed as released; caps hold") {
    const auto cfg = make_config(1, 2);
    schedule::Scheduler s(cfg);
    auto h = message("A", {"1@west.test"});
    h.held = true;
    s.rebuild(
        {h, message("B", {"2@west.test"}), message("C", {"3@c.test"}), message("D", {"4@d.test"})});
    Pick b = s.next(0);
    CHECK(b.batch.id == "B");
    Pick c = s.next(0);  // west is at its cap of 1: C goes first
    CHECK(c.batch.id == "C");
    CHECK(s.next(0).kind == Pick::Kind::Sleep);  // total cap of 2
    h.held = false;
    s.refresh(h.id, h);
    CHECK(s.next_for(kWest, 0).id == "A");  // over the open connection
}

TEST_CASE("index: an idle connection's destination is left to its worker") {
    const auto cfg = make_config(2, 3);
    schedule::Scheduler s(cfg);
    s.rebuild({});
    CHECK(s.next(0).kind == Pick::Kind::Empty);
    s.set_idle(kWest, true);
    s.refresh("A", message("A", {"1@west.test"}));
    CHECK(s.has_due(kWest, 0));
    CHECK(s.next(0).kind == Pick::Kind::Sleep);  // no second connection to west
    CHECK(s.next_for(kWest, 0).id == "A");
    CHECK_FALSE(s.has_due(kWest, 0));
    s.set_idle(kWest, false);
    s.refresh("B", message("B", {"2@west.test"}));
    Pick p = s.next(0);
    REQUIRE(p.kind == Pick::Kind::Ready);
    CHECK(p.batch.id == "B");
}

TEST_CASE("index: an idle connection holding the last slot gives way to other mail") {
    const auto cfg = make_config(1, 1);
    schedule::Scheduler s(cfg);
    s.rebuild({message("A", {"1@west.test"})});
    Pick a = s.next(0);
    REQUIRE(a.kind == Pick::Kind::Ready);
    s.done(a.batch);
    s.refresh("A", std::nullopt);
    s.set_idle(kWest, true);
    CHECK_FALSE(s.starved(0));
    s.refresh("C", message("C", {"2@c.test"}));
    CHECK(s.next(0).kind == Pick::Kind::Sleep);  // the total cap of 1 is held
    CHECK(s.starved(0));
    s.set_idle(kWest, false);
    s.release(kWest);
    CHECK(s.next(0).batch.id == "C");
}

namespace {

std::vector<spool::Envelope> burst(int n, const std::string& prefix) {
    std::vector<spool::Envelope> live;
    for (int i = 0; i < n; ++i) {
        const std::string id = prefix + (i < 10 ? "0" : "") + std::to_string(i);
        live.push_back(message(id, {"r@west.test"}));
    }
    return live;
}

// Opens connections with next(now) until it says Sleep; returns how many.
int open_all(schedule::Scheduler& s, std::int64_t now, Pick& last) {
    int n = 0;
    for (last = s.next(now); last.kind == Pick::Kind::Ready; last = s.next(now)) ++n;
    return n;
}

// A scheduler over `messages` due messages to west (per destination cap
// `per_dest`, slow start `initial`, 0: the default), with the connections
// that next(0) opened.
struct Started {
    config::Config cfg;
    schedule::Scheduler s;
    Pick last;
    int opened = 0;
    Started(int per_dest, int initial, int messages, const std::string& prefix)
        : cfg(make_config(per_dest, 100, initial)), s(cfg) {
        s.rebuild(burst(messages, prefix));
        opened = open_all(s, 0, last);
    }
};

}  // namespace

TEST_CASE("index: slow start, 5 connections until the mail has waited a second, then 20") {
    Started t(20, 0, 40, "M");  // initial_concurrency_per_destination: the default
    REQUIRE(t.cfg.delivery.initial_concurrency_per_destination == 5);
    CHECK(t.opened == 5);
    REQUIRE(t.last.kind == Pick::Kind::Sleep);
    CHECK(t.last.wake_ms == schedule::Scheduler::kGrowAfterMs);  // woken to grow
    CHECK(open_all(t.s, 999, t.last) == 0);
    CHECK(open_all(t.s, 1000, t.last) == 15);  // up to concurrency_per_destination
    CHECK(t.s.active(kWest) == 20);
    CHECK(t.last.kind == Pick::Kind::Sleep);
}

TEST_CASE("index: slow start begins afresh once the destination's due mail is all gone") {
    Started t(20, 2, 3, "A");
    CHECK(t.opened == 2);
    CHECK(t.last.wake_ms == schedule::Scheduler::kGrowAfterMs);  // A02 waits from 0
    SECTION("the two connections kept up: they took the third message") {
        CHECK(t.s.next_for(kWest, 500).id == "A02");
        CHECK(t.s.next_for(kWest, 600).rcpts.empty());
    }
    SECTION("an operator deleted the waiting message") {
        t.s.refresh("A02", std::nullopt);
    }
    // A new burst at 1500: its own second must pass before a third connection.
    for (const auto& e : burst(10, "B")) t.s.refresh(e.id, e);
    CHECK(open_all(t.s, 1500, t.last) == 0);
    CHECK(t.last.wake_ms == 1500 + schedule::Scheduler::kGrowAfterMs);
    CHECK(open_all(t.s, 2499, t.last) == 0);
    CHECK(open_all(t.s, 2500, t.last) == 10);
}

TEST_CASE("index: an initial concurrency above the cap is the cap") {
    Started t(3, 8, 10, "C");
    CHECK(t.opened == 3);
    CHECK(open_all(t.s, 5000, t.last) == 0);
}
