// Rotated delivery logs are read oldest first, whatever logrotate named them.
#include <catch2/catch.hpp>

#include "relay/log/log_files.hpp"

using namespace chainmail::log;

TEST_CASE("numbered rotations: the highest number is the oldest, the live file last") {
    CHECK(order_rotated("delivery.jsonl",
                        {"delivery.jsonl", "delivery.jsonl.1", "delivery.jsonl.10.gz",
                         "delivery.jsonl.2.gz", "delivery.jsonl.9.gz", "other.log",
                         "delivery.jsonl.bak", "delivery.jsonlx", "delivery.jsonl.1.tmp"}) ==
          std::vector<std::string>{"delivery.jsonl.10.gz", "delivery.jsonl.9.gz",
                                   "delivery.jsonl.2.gz", "delivery.jsonl.1", "delivery.jsonl"});
}

TEST_CASE("dateext rotations sort by date") {
    CHECK(order_rotated("d.jsonl", {"d.jsonl-20261122.gz", "d.jsonl", "d.jsonl-20261120.gz",
                                    "d.jsonl-20261121"}) ==
          std::vector<std::string>{"d.jsonl-20261120.gz", "d.jsonl-20261121", "d.jsonl-20261122.gz",
                                   "d.jsonl"});
}

TEST_CASE("a live file not there yet leaves the rotated ones") {
    CHECK(order_rotated("d.jsonl", {"d.jsonl.1"}) == std::vector<std::string>{"d.jsonl.1"});
    CHECK(rotated_set("/nonexistent-dir/d.jsonl") ==
          std::vector<std::string>{"/nonexistent-dir/d.jsonl"});
}
