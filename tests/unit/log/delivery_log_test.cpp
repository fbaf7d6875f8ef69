// The delivery log line format of docs/delivery-log.md, and appending from many threads.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "relay/log/delivery_log.hpp"
#include "tests/unit/log/sample_event.hpp"

using namespace chainmail::log;

TEST_CASE("a delivered event carries every field of docs/delivery-log.md, in its order") {
    const DeliveryEvent e = test::sample_delivered();
    CHECK(to_json_line(e) ==
          R"({"ts":"2026-11-22T12:00:00.123Z","event":"delivered","queue_id":"01JD",)"
          R"("message_id":"<m@x>","from":"a@gemeente.nl","rcpt":"b@ziekenhuis-west.nl",)"
          R"("partner":"ziekenhuis-west","policy":"dane-only","host":"mx.ziekenhuis-west.nl",)"
          R"("ip":"192.0.2.1","port":25,"tls":{"version":"TLSv1.3",)"
          R"("cipher":"TLS_AES_256_GCM_SHA384","auth":"dane-ee"},"dsn":"2.0.0",)"
          R"("reply":"250 2.0.0 Ok: queued","attempt":1,"delay_s":0.41})");
}

TEST_CASE("a received event: null sender kept, plaintext has no tls, bad UTF-8 survives") {
    DeliveryEvent e;
    e.event = Event::Received;
    e.queue_id = "01JD";
    e.rcpts = {"b@z.nl", "c@z.nl"};
    e.size = 390;
    e.client_helo = "bad\xff";
    auto j = nlohmann::json::parse(to_json_line(e));
    CHECK(j["event"] == "received");
    CHECK(j["from"] == "");
    CHECK(j["rcpts"].size() == 2);
    CHECK(j["size"] == 390);
    CHECK_FALSE(j.contains("tls"));
    CHECK_FALSE(j.contains("rcpt"));
    for (Event ev : {Event::Deferred, Event::Bounced, Event::Expired, Event::NdrSent}) {
        e.event = ev;
        e.ndr_queue_id = "01NDR";
        auto k = nlohmann::json::parse(to_json_line(e));
        CHECK(k["event"] == event_name(ev));
        CHECK(k["ndr_queue_id"] == "01NDR");
    }
}

TEST_CASE("lines written from several threads never interleave") {
    auto path = std::filesystem::temp_directory_path() /
                ("chainmail-dlog-" + std::to_string(::getpid()) + ".jsonl");
    std::filesystem::remove(path);
    {
        DeliveryLog log(path.string());
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&log, t] {
                for (int i = 0; i < 500; ++i) {
                    DeliveryEvent e;
                    e.event = Event::Deferred;
                    e.queue_id = std::to_string(t) + "-" + std::to_string(i);
                    e.reply = std::string(300, 'r');
                    log.write(e);
                }
            });
        for (auto& th : threads) th.join();
    }
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        CHECK_NOTHROW(nlohmann::json::parse(line));
        ++n;
    }
    CHECK(n == 2000);
    std::filesystem::remove(path);
}

namespace {

// The line as nlohmann::ordered_json writes it: what to_json_line() wrote
// before it built the line itself, kept here as the reference.
std::string reference_line(const DeliveryEvent& e) {
    nlohmann::ordered_json j;
    j["ts"] = "2026-11-22T12:00:00.123Z";
    j["event"] = event_name(e.event);
    auto put = [&j](const char* key, const std::string& v) {
        if (!v.empty()) j[key] = v;
    };
    put("queue_id", e.queue_id);
    put("message_id", e.message_id);
    j["from"] = e.from;
    put("rcpt", e.rcpt);
    if (!e.rcpts.empty()) j["rcpts"] = e.rcpts;
    put("partner", e.partner);
    put("policy", e.policy);
    put("host", e.host);
    put("ip", e.ip);
    if (e.port) j["port"] = e.port;
    if (e.tls) {
        nlohmann::ordered_json t;
        t["version"] = e.tls->version;
        t["cipher"] = e.tls->cipher;
        if (!e.tls->auth.empty()) t["auth"] = e.tls->auth;
        j["tls"] = std::move(t);
    }
    put("dsn", e.dsn);
    put("reply", e.reply);
    put("reason", e.reason);
    if (e.attempt) j["attempt"] = e.attempt;
    if (e.delay_s) j["delay_s"] = *e.delay_s;
    put("would_fail", e.would_fail);
    if (!e.sensitive.empty()) {
        j["sensitive"] = true;
        j["sensitive_why"] = e.sensitive;
    }
    put("tls_required_no", e.tls_required_no);
    put("ndr_queue_id", e.ndr_queue_id);
    if (e.size) j["size"] = *e.size;
    put("client_ip", e.client_ip);
    put("client_helo", e.client_helo);
    put("auth_user", e.auth_user);
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("the line is byte for byte what nlohmann::ordered_json writes, on random events") {
    std::mt19937 rng(20261203);
    // Plain text most of the time; quotes, backslashes, control characters,
    // DEL, valid and invalid UTF-8 now and then.
    const std::vector<std::string> pieces = {
        "a",    "Z",        "0",  " ",      "@",    "<",    "~",        "\"",           "\\",
        "\n",   "\r",       "\t", "\x01",   "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xff",
        "\xc3", "\xe2\x82", "/",  "250 Ok", "é",    "\x00"};
    auto text = [&] {
        std::string s;
        const int n = static_cast<int>(rng() % 6);
        for (int i = 0; i < n; ++i) {
            const std::size_t k = rng() % 3 == 0 ? rng() % pieces.size() : rng() % 6;
            s += k == pieces.size() - 1 ? std::string(1, '\0') : pieces[k];
        }
        return s;
    };
    auto maybe = [&] { return rng() % 2 ? text() : std::string(); };
    for (int round = 0; round < 3000; ++round) {
        DeliveryEvent e;
        e.event = static_cast<Event>(rng() % 8);
        e.ts_ms = 1795348800123;
        e.queue_id = maybe();
        e.message_id = maybe();
        e.from = maybe();
        e.rcpt = maybe();
        for (int i = static_cast<int>(rng() % 3); i > 0; --i) e.rcpts.push_back(text());
        e.partner = maybe();
        e.policy = maybe();
        e.host = maybe();
        e.ip = maybe();
        e.port = static_cast<std::uint16_t>(rng() % 2 ? rng() : 0);
        if (rng() % 2) e.tls = TlsInfo{text(), text(), maybe()};
        e.dsn = maybe();
        e.reply = maybe();
        e.reason = maybe();
        e.attempt = rng() % 2 ? rng() : 0;
        switch (rng() % 4) {
            case 0:
                break;
            case 1:
                e.delay_s = static_cast<double>(rng() % 100000) / 1000.0;
                break;
            case 2:
                e.delay_s = static_cast<double>(rng()) * 1e-9;
                break;
            default:
                e.delay_s = static_cast<double>(rng() % 1000);
                break;
        }
        e.would_fail = maybe();
        e.sensitive = maybe();
        e.tls_required_no = maybe();
        e.ndr_queue_id = maybe();
        if (rng() % 2) e.size = (static_cast<std::uint64_t>(rng()) << 32) | rng();
        e.client_ip = maybe();
        e.client_helo = maybe();
        e.auth_user = maybe();
        INFO("round " << round);
        REQUIRE(to_json_line(e) == reference_line(e));
    }
}
