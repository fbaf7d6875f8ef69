// The delivery log line format of docs/delivery-log.md, and appending from many threads.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
