// Shared by the scheduler's table tests: a config with one partner and a
// message whose recipients are all due at `next_ms`.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "relay/spool/envelope.hpp"

namespace chainmail::schedule_test {

// initial: delivery.initial_concurrency_per_destination (0: the default).
inline config::Config make_config(int per_dest = 2, int total = 3, int initial = 0) {
    const std::string slow_start =
        initial > 0 ? ", initial_concurrency_per_destination: " + std::to_string(initial) : "";
    auto r = config::load_config_text(R"(
hostname: relay.test
dns: { trust_anchor_file: "" }
delivery: { concurrency_per_destination: )" +
                                          std::to_string(per_dest) + ", max_concurrency: " +
                                          std::to_string(total) + slow_start + R"( }
defaults: { tls: may, on_tls_failure: defer }
partners:
  - name: west
    domains: [west.test, .west.test]
    tls: encrypt
    next_hop: "[mx.west.test]:2525"
)",
                                      "test.yaml", {false});
    REQUIRE(std::holds_alternative<config::Config>(r));
    return std::get<config::Config>(r);
}

inline spool::Envelope message(const std::string& id, std::vector<std::string> rcpts,
                               std::int64_t next_ms = 0) {
    spool::Envelope e;
    e.id = id;
    e.sender = "a@relay.test";
    for (auto& r : rcpts) {
        spool::Recipient rc;
        rc.address = r;
        rc.next_attempt_ms = next_ms;
        e.recipients.push_back(rc);
    }
    return e;
}

}  // namespace chainmail::schedule_test
