// The inbound server's deadlines, one row per session state.
#include <catch2/catch.hpp>

#include "relay/inbound/session_deadlines.hpp"

using namespace chainmail;
using namespace chainmail::inbound;
using namespace std::chrono_literals;

TEST_CASE("every session state has its deadline; client waits follow the limits") {
    config::Limits limits;
    limits.command_timeout = 7min;
    limits.data_timeout = 4min;
    struct Row {
        SessionState state;
        std::chrono::seconds expected;
    };
    const Row rows[] = {
        {SessionState::Greeting, 7min},  {SessionState::Command, 7min},
        {SessionState::DataBlock, 4min}, {SessionState::Reply, 30s},
        {SessionState::Spooling, 10min}, {SessionState::TlsHandshake, 30s},
        {SessionState::TlsShutdown, 5s}, {SessionState::TimeoutReply, 10s},
    };
    for (const Row& r : rows) {
        INFO(to_string(r.state));
        CHECK(deadline_info(r.state).state == r.state);  // the table is in enum order
        CHECK(deadline(r.state, limits) == r.expected);
        CHECK_FALSE(to_string(r.state).empty());
    }
}

TEST_CASE("the defaults are RFC 5321's: 5 minutes for a command, 3 per data block") {
    const config::Limits limits;
    CHECK(deadline(SessionState::Command, limits) == 5min);
    CHECK(deadline(SessionState::DataBlock, limits) == 3min);
}
