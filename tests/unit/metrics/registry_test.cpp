// The registry's exposition text (format 0.0.4), bounded labels, and atomic updates.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "relay/metrics/registry.hpp"

using namespace chainmail::metrics;

TEST_CASE("a counter renders HELP, TYPE and its samples with _total") {
    Registry r;
    auto& f = r.counter("chainmail_things", "Things that happened.", {"kind"});
    f.with({"a"}).inc();
    f.with({"b"}).inc(3);
    f.with({"a"}).inc();
    CHECK(r.render() ==
          "# HELP chainmail_things Things that happened.\n"
          "# TYPE chainmail_things counter\n"
          "chainmail_things_total{kind=\"a\"} 2\n"
          "chainmail_things_total{kind=\"b\"} 3\n");
}

TEST_CASE("a family without series renders nothing; an unlabelled gauge has no braces") {
    Registry r;
    r.counter("chainmail_never", "Never.", {"x"});
    auto& g = r.gauge("chainmail_level", "A level.", {}).with({});
    g.set(2.5);
    g.add(-1);
    CHECK(r.render() ==
          "# HELP chainmail_level A level.\n# TYPE chainmail_level gauge\n"
          "chainmail_level 1.5\n");
}

TEST_CASE("label values are escaped: backslash, quote, newline") {
    CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    Registry r;
    r.counter("chainmail_x", "X.", {"partner"}).with({"we\"ird"}).inc();
    CHECK_THAT(r.render(), Catch::Contains("chainmail_x_total{partner=\"we\\\"ird\"} 1\n"));
}

TEST_CASE("a histogram has cumulative buckets, +Inf, _sum and _count") {
    Registry r;
    auto& h = r.histogram("chainmail_wait_seconds", "Waits.", {}, {0.5, 1, 10}).with({});
    h.observe(0.2);
    h.observe(0.5);  // le is inclusive
    h.observe(3);
    h.observe(100);
    CHECK(r.render() ==
          "# HELP chainmail_wait_seconds Waits.\n"
          "# TYPE chainmail_wait_seconds histogram\n"
          "chainmail_wait_seconds_bucket{le=\"0.5\"} 2\n"
          "chainmail_wait_seconds_bucket{le=\"1\"} 2\n"
          "chainmail_wait_seconds_bucket{le=\"10\"} 3\n"
          "chainmail_wait_seconds_bucket{le=\"+Inf\"} 4\n"
          "chainmail_wait_seconds_sum 103.7\n"
          "chainmail_wait_seconds_count 4\n");
}

TEST_CASE("histogram bounds must increase") {
    Registry r;
    CHECK_THROWS_AS(r.histogram("chainmail_bad", "Bad.", {}, {1, 1}), std::logic_error);
}

TEST_CASE("past its cap a family counts new label values as other") {
    Registry r;
    auto& f = r.counter("chainmail_capped", "Capped.", {"partner"}, 2);
    f.with({"a"}).inc();
    f.with({"b"}).inc();
    f.with({"c"}).inc();
    f.with({"d"}).inc();
    f.with({"a"}).inc();  // an existing series keeps counting
    const std::string text = r.render();
    CHECK_THAT(text, Catch::Contains("{partner=\"a\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("{partner=\"other\"} 2\n"));
    CHECK_THAT(text, !Catch::Contains("partner=\"c\""));
}

TEST_CASE("a wrong number of label values is our bug, not a silent series") {
    Registry r;
    auto& f = r.counter("chainmail_two", "Two labels.", {"a", "b"});
    CHECK_THROWS_AS(f.with({"x"}), std::logic_error);
}

TEST_CASE("collectors run before each render, until removed") {
    Registry r;
    auto& g = r.gauge("chainmail_queue", "Queue.", {}).with({});
    int n = 0;
    r.set_collector("queue", [&] { g.set(++n); });
    CHECK_THAT(r.render(), Catch::Contains("chainmail_queue 1\n"));
    CHECK_THAT(r.render(), Catch::Contains("chainmail_queue 2\n"));
    r.set_collector("queue", {});
    CHECK_THAT(r.render(), Catch::Contains("chainmail_queue 2\n"));
}

TEST_CASE("updates from many threads are all counted") {
    Registry r;
    auto& f = r.counter("chainmail_par", "Parallel.", {"t"});
    auto& h = r.histogram("chainmail_par_seconds", "Parallel.", {}, {1}).with({});
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 10000; ++i) {
                f.with({t % 2 ? "odd" : "even"}).inc();
                h.observe(0.5);
            }
        });
    for (auto& t : ts) t.join();
    CHECK(f.with({"odd"}).value() == 20000);
    CHECK(f.with({"even"}).value() == 20000);
    CHECK(h.count() == 40000);
    CHECK(h.sum() == 20000);
}

TEST_CASE("sample values: integers plain, fractions shortest, infinities spelled") {
    CHECK(format_value(3) == "3");
    CHECK(format_value(0.1) == "0.1");
    CHECK(format_value(-2) == "-2");
    CHECK(format_value(1.0 / 0.0) == "+Inf");
}
