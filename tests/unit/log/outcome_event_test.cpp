// The log's words for each recipient outcome: one mapping (outcome_event.hpp).
#include <catch2/catch.hpp>

#include "relay/log/outcome_event.hpp"

using namespace chainmail;
using policy::RcptOutcome;

TEST_CASE("every recipient outcome has its delivery log event and Postfix status word") {
    struct Row {
        RcptOutcome outcome;
        const char* event;
        const char* status;
    };
    const Row rows[] = {
        {RcptOutcome::Delivered, "delivered", "sent"},
        {RcptOutcome::Deferred, "deferred", "deferred"},
        {RcptOutcome::Held, "held", "held"},
        {RcptOutcome::Bounced, "bounced", "bounced"},
        {RcptOutcome::Expired, "expired", "expired"},
        {RcptOutcome::Cancelled, "deferred", "deferred"},  // stopped: it stays queued
    };
    for (const Row& r : rows) {
        INFO(policy::to_string(r.outcome));
        CHECK(std::string(log::event_name(log::event_of(r.outcome, false))) == r.event);
        CHECK(log::status_name(r.outcome) == r.status);
    }
    // The delivery of one of our own reports is its ndr_sent line.
    CHECK(log::event_of(RcptOutcome::Delivered, true) == log::Event::NdrSent);
    CHECK(log::event_of(RcptOutcome::Bounced, true) == log::Event::Bounced);
}
