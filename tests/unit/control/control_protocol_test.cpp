// The control socket's lines: what serve accepts, and what it refuses with a reason.
#include <catch2/catch.hpp>

#include "relay/control/control_protocol.hpp"

using namespace chainmail;
using namespace chainmail::control;

TEST_CASE("a request survives the round trip") {
    Request r;
    r.action = outbound::QueueAction::Bounce;
    r.ids = {"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"};
    auto back = decode_request(encode(r));
    REQUIRE(std::holds_alternative<Request>(back));
    CHECK(std::get<Request>(back).action == outbound::QueueAction::Bounce);
    CHECK(std::get<Request>(back).ids == r.ids);
    CHECK_FALSE(std::get<Request>(back).all);
}

TEST_CASE("bad requests are refused with a reason") {
    struct Row {
        const char* line;
        const char* why;
    };
    const Row rows[] = {
        {"", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {R"({"ids":["X"]})", "no \"command\""},
        {R"({"command":"flush","ids":["X"]})", "unknown command \"flush\""},
        {R"({"command":"hold","ids":"X"})", "\"ids\" is not a list"},
        {R"({"command":"hold","ids":[1]})", "a queue id is not a string"},
        {R"({"command":"hold"})", "no queue ids"},
        {R"({"command":"hold","all":true})", "\"all\" is only for retry"},
        {R"({"command":"retry","all":"yes"})", "\"all\" is not true or false"},
    };
    for (const Row& row : rows) {
        INFO(row.line);
        auto r = decode_request(row.line);
        REQUIRE(std::holds_alternative<std::string>(r));
        CHECK(std::get<std::string>(r) == row.why);
    }
    CHECK(std::holds_alternative<Request>(decode_request(R"({"command":"retry","all":true})")));
}

TEST_CASE("replies carry one result per id, or the refusal") {
    Reply r;
    r.results.push_back({"01ARZ3NDEKTSV4RRFFQ69G5FAV", outbound::ActionStatus::Done, "held"});
    r.results.push_back(
        {"01ARZ3NDEKTSV4RRFFQ69G5FAW", outbound::ActionStatus::NotFound, "no such message"});
    auto back = decode_reply(encode(r));
    REQUIRE(back);
    REQUIRE(back->results.size() == 2);
    CHECK(back->results[1].status == outbound::ActionStatus::NotFound);
    CHECK(back->results[1].text == "no such message");

    auto refused = decode_reply(encode(Reply{{}, "permission denied: uid 65534"}));
    REQUIRE(refused);
    CHECK(refused->error == "permission denied: uid 65534");
    CHECK_FALSE(decode_reply(R"({"results":[{"id":"X","status":"maybe","text":""}]})"));
    CHECK_FALSE(decode_reply("garbage"));
}
