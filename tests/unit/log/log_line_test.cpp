// The delivery-log line scanner: what the writer writes is read back field by
// field; anything that is not one whole JSON object is damaged, exactly where
// nlohmann::json (the writer's library) would refuse it too.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>

#include "relay/log/delivery_log.hpp"
#include "relay/log/log_line.hpp"
#include "tests/unit/log/sample_event.hpp"

using namespace chainmail::log;

namespace {

// The sample with what a scanner must get right: a long id, mixed case,
// escapes and a control character in the reply, would_fail.
DeliveryEvent delivered() {
    DeliveryEvent e = test::sample_delivered();
    e.queue_id = "01JD0000000000000000000000";
    e.rcpt = "B@Ziekenhuis-West.nl";
    e.reply = "250 2.0.0 Ok: \"queued\" \\ as \x01 é";
    e.attempt = 2;
    e.would_fail = "tlsa-mismatch: none matched";
    return e;
}

}  // namespace

TEST_CASE("a line from the writer is read back field by field") {
    const std::string line = to_json_line(delivered());
    LogRecord r;
    REQUIRE(parse_line(line, r));
    CHECK(r.ts.raw == "2026-11-22T12:00:00.123Z");
    CHECK(r.event.equals("delivered"));
    CHECK(r.rcpt.equals("b@ziekenhuis-west.nl", true));
    CHECK_FALSE(r.rcpt.equals("b@ziekenhuis-west.nl"));
    CHECK(r.partner.str() == "ziekenhuis-west");
    CHECK(r.has_tls);
    CHECK(r.tls_version.str() == "TLSv1.3");
    CHECK(r.tls_auth.str() == "dane-ee");
    CHECK(r.reply.escaped);
    CHECK(r.reply.str() == "250 2.0.0 Ok: \"queued\" \\ as \x01 é");
    CHECK(r.port == "25");
    CHECK(r.attempt == "2");
    CHECK(r.delay_s == "0.41");
    CHECK(r.would_fail.str() == "tlsa-mismatch: none matched");
}

TEST_CASE("a received line's recipients are iterated") {
    DeliveryEvent e;
    e.event = Event::Received;
    e.ts_ms = 1;
    e.rcpts = {"a@x.nl", "b\"q@y.nl", "c@z.nl"};
    LogRecord r;
    const std::string line = to_json_line(e);  // r holds views into it
    REQUIRE(parse_line(line, r));
    std::vector<std::string> got;
    for_each_string(r.rcpts, [&](const JsonText& t) { got.push_back(t.str()); });
    CHECK(got == e.rcpts);
    CHECK(r.from.empty());  // "" is the null sender
}

TEST_CASE("damaged lines are refused") {
    const std::string good = to_json_line(delivered());
    struct Row {
        std::string what, line;
    };
    const Row rows[] = {
        {"empty", ""},
        {"cut short by a crash", good.substr(0, good.size() / 2)},
        {"cut inside an escape", good.substr(0, good.find("\\\"") + 1)},
        {"garbage", std::string("\0\0garbage }{", 12)},
        {"two objects glued", good + good},
        {"an array", "[" + good + "]"},
        {"no ts", R"({"event":"delivered"})"},
        {"no event", R"({"ts":"2026-11-22T12:00:00.000Z"})"},
        {"ts not a string", R"({"ts":5,"event":"delivered"})"},
        {"trailing comma", R"({"ts":"t","event":"e",})"},
        {"bad escape", R"({"ts":"t","event":"e\q"})"},
        {"bad \\u", R"({"ts":"t","event":"\u12"})"},
        {"raw control char", std::string("{\"ts\":\"t\",\"event\":\"a\tb\"}")},
        {"bad number", R"({"ts":"t","event":"e","port":01})"},
        {"too deep", R"({"ts":"t","event":"e","x":[[[[[[[[[[1]]]]]]]]]]})"},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        LogRecord r;
        CHECK_FALSE(parse_line(row.line, r));
    }
}

TEST_CASE("the scanner agrees with nlohmann::json on lines cut and bytes flipped") {
    const std::string good = to_json_line(delivered());
    std::mt19937 rng(7);
    const std::string alphabet = "{}[]\",:\\0123456789aetuvnlrsfx .-+eE";
    int checked = 0;
    for (int n = 0; n < 20000; ++n) {
        std::string line = good;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < edits; ++k) {
            const std::size_t at = rng() % line.size();
            switch (rng() % 3) {
                case 0:
                    line[at] = alphabet[rng() % alphabet.size()];
                    break;
                case 1:
                    line.erase(at, 1 + rng() % 4);
                    break;
                case 2:
                    line = line.substr(0, at);
                    break;
            }
            if (line.empty()) break;
        }
        LogRecord r;
        const bool ours = parse_line(line, r);
        bool theirs = nlohmann::json::accept(line);
        if (theirs) {
            // We also need "ts" and "event" as strings at the top level.
            const auto j = nlohmann::json::parse(line);
            theirs = j.is_object() && j.contains("ts") && j["ts"].is_string() &&
                     j.contains("event") && j["event"].is_string();
            // nlohmann keeps the last of duplicate keys, we keep the last too.
        }
        INFO(line);
        CHECK(ours == theirs);
        ++checked;
    }
    CHECK(checked == 20000);
}

TEST_CASE("json_escape writes what the writer writes") {
    for (std::string s : {std::string("plain"), std::string("q\"b\\s"), std::string("tab\there"),
                          std::string("ctl\x01")}) {
        nlohmann::json j = s;
        const std::string dumped = j.dump();
        CHECK(json_escape(s) == dumped.substr(1, dumped.size() - 2));
        CHECK(json_unescape(json_escape(s)) == s);
    }
    CHECK(json_unescape("\\u00e9\\ud83d\\ude00") == "é😀");
}
