// The durable state of each recipient outcome (relay/spool/FORMAT.md).
#include <catch2/catch.hpp>

#include "relay/settle/settle.hpp"

using namespace chainmail;
using policy::RcptOutcome;
using spool::RcptState;

TEST_CASE("an outcome's spool state: delivered, failed once reported, else pending") {
    CHECK(settle::spool_state_of(RcptOutcome::Delivered) == RcptState::Delivered);
    CHECK(settle::spool_state_of(RcptOutcome::Bounced) == RcptState::Failed);
    CHECK(settle::spool_state_of(RcptOutcome::Expired) == RcptState::Failed);
    CHECK(settle::spool_state_of(RcptOutcome::Deferred) == RcptState::Pending);
    CHECK(settle::spool_state_of(RcptOutcome::Held) == RcptState::Pending);
    CHECK(settle::spool_state_of(RcptOutcome::Cancelled) == RcptState::Pending);
}
