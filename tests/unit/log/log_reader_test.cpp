// The reader streams plain and gzipped files, skips and counts damage without
// losing the lines around it, prefilters without losing a match, and follows
// a file across rotation.
#include <fmt/core.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "relay/log/delivery_log.hpp"
#include "relay/log/log_filter.hpp"
#include "relay/log/log_reader.hpp"
#include "relay/log/log_time.hpp"

using namespace chainmail::log;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/logread-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string operator/(const char* name) const { return (path / name).string(); }
};

std::string line(int n, const char* event = "delivered", const char* partner = "p1") {
    DeliveryEvent e;
    e.event = std::string_view(event) == "deferred" ? Event::Deferred : Event::Delivered;
    e.ts_ms = *parse_ts("2026-11-22T00:00:00Z") + n * 60'000LL;
    e.queue_id = fmt::format("Q{}", n);
    e.from = "a@gemeente.nl";
    e.rcpt = fmt::format("r{}@Dest.NL", n);
    e.partner = partner;
    return to_json_line(e);
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

void write_gz(const std::string& path, const std::string& text) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
}

std::vector<std::string> queue_ids(const Prefilter& pf, const std::vector<std::string>& files,
                                   ReadStats* stats = nullptr) {
    std::vector<std::string> got;
    LogReader reader(
        pf, [&](std::string_view, const LogRecord& r) { got.push_back(r.queue_id.str()); });
    reader.read_files(files);
    if (stats) *stats = reader.stats();
    return got;
}

}  // namespace

TEST_CASE("plain and gzipped files are read oldest first, told apart by content") {
    TempDir d;
    write_gz(d / "log.2.gz", line(1) + "\n" + line(2) + "\n");
    write_gz(d / "log.1", line(3) + "\n");  // compressed without the .gz name
    write(d / "log", line(4) + "\n");
    CHECK(queue_ids({}, {d / "log.2.gz", d / "log.1", d / "log"}) ==
          std::vector<std::string>{"Q1", "Q2", "Q3", "Q4"});
}

TEST_CASE("damaged lines are skipped and counted; the lines around them are kept") {
    TempDir d;
    const std::string l2 = line(2);
    std::string text = line(1) + "\n";
    text += l2.substr(0, 40) + line(3) + "\n";  // cut short by a crash, the next line glued on
    text += "\x01\x02 not json\n";              // garbage
    text += std::string(3 << 20, 'x') + "\n";   // a 3 MB line, longer than any we take
    text += "\n";                               // blank: not damage
    text += line(4) + "\n";
    text += l2.substr(0, 60);  // the last line, cut short
    write(d / "log", text);
    ReadStats st;
    CHECK(queue_ids({}, {d / "log"}, &st) == std::vector<std::string>{"Q1", "Q3", "Q4"});
    CHECK(st.damaged == 4);
    CHECK(st.parsed == 3);
}

TEST_CASE("a gzip file cut short is read up to the cut and named in a note") {
    TempDir d;
    std::string text;
    for (int n = 0; n < 20000; ++n) text += line(n) + "\n";
    write_gz(d / "log.1.gz", text);
    fs::resize_file(d / "log.1.gz", fs::file_size(d / "log.1.gz") / 2);
    write(d / "log", line(99999) + "\n");
    std::vector<std::string> got;
    LogReader reader(
        {}, [&](std::string_view, const LogRecord& r) { got.push_back(r.queue_id.str()); });
    reader.read_files({d / "log.1.gz", d / "log"});
    CHECK(got.size() > 1000);
    CHECK(got.size() < 20000);
    CHECK(got.back() == "Q99999");
    CHECK(reader.damage_summary().find("log.1.gz") != std::string::npos);
    CHECK(reader.damage_summary().find("cut short") != std::string::npos);
}

TEST_CASE("the prefilter keeps every match: case-folded needles and the time window") {
    TempDir d;
    std::string text;
    for (int n = 0; n < 3000; ++n)
        text += line(n, n % 7 ? "delivered" : "deferred", n % 100 ? "p1" : "p2") + "\n";
    write(d / "log", text);
    LogFilter f;
    f.rcpt = "R1234@dest.nl";
    CHECK(queue_ids(prefilter_for(f), {d / "log"}) == std::vector<std::string>{"Q1234"});
    f = {};
    f.rcpt = "dest.nl";
    CHECK(queue_ids(prefilter_for(f), {d / "log"}).size() == 3000);
    f = {};
    f.partner = "p2";
    CHECK(queue_ids(prefilter_for(f), {d / "log"}).size() == 30);
    f = {};
    f.since_ms = *parse_ts("2026-11-22T10:00:00Z");
    f.until_ms = *parse_ts("2026-11-22T10:59:59.999Z");
    const auto hour = queue_ids(prefilter_for(f), {d / "log"});
    REQUIRE(hour.size() == 60);
    CHECK(hour.front() == "Q600");
}

TEST_CASE("a file wholly before --since is skipped unread") {
    TempDir d;
    write(d / "log.2", line(1) + "\n" + line(2) + "\n");
    write(d / "log.1", line(3) + "\n" + line(800) + "\n");  // starts before --since
    write(d / "log", line(1000) + "\n");
    LogFilter f;
    f.since_ms = *parse_ts("2026-11-22T12:00:00Z");
    ReadStats st;
    CHECK(queue_ids(prefilter_for(f), {d / "log.2", d / "log.1", d / "log"}, &st) ==
          std::vector<std::string>{"Q800", "Q1000"});
    CHECK(st.skipped_files == 1);
}

TEST_CASE("filters: addresses, domains, subdomains, the null sender, queue ids") {
    struct Row {
        const char* addr;
        const char* want;
        bool match;
    };
    const Row rows[] = {
        {"b@Example.NL", "b@example.nl", true},    {"b@example.nl", "c@example.nl", false},
        {"b@example.nl", "example.nl", true},      {"b@mx.example.nl", "example.nl", false},
        {"b@mx.example.nl", ".example.nl", true},  {"b@example.nl", ".example.nl", false},
        {"b@badexample.nl", ".example.nl", false},
    };
    for (const Row& r : rows) {
        INFO(r.addr << " ~ " << r.want);
        CHECK(address_matches(r.addr, r.want) == r.match);
    }
    DeliveryEvent e;
    e.event = Event::Bounced;
    e.ts_ms = 1;
    e.queue_id = "01ABC";
    e.ndr_queue_id = "01NDR";
    e.rcpt = "x@y.nl";
    const std::string l = to_json_line(e);
    LogRecord rec;
    REQUIRE(parse_line(l, rec));
    LogFilter f;
    f.from = "<>";
    CHECK(matches(f, rec));
    f.from = "a@b.nl";
    CHECK_FALSE(matches(f, rec));
    f = {};
    f.queue_id = "01ndr";
    CHECK(matches(f, rec));
    CHECK(l.find(prefilter_for(f).needle) == std::string::npos);  // folded: found by the reader
    f.status = "bounced";
    CHECK(matches(f, rec));
    f.status = "delivered";
    CHECK_FALSE(matches(f, rec));
}

TEST_CASE("follow reads new lines across rotation and truncation") {
    TempDir d;
    const std::string path = d / "log";
    write(path, line(1) + "\n");  // before we start: not shown
    std::vector<std::string> got;
    std::mutex mu;
    volatile std::sig_atomic_t stop = 0;
    LogReader reader({}, [&](std::string_view, const LogRecord& r) {
        std::lock_guard l(mu);
        got.push_back(r.queue_id.str());
    });
    std::thread t([&] { reader.follow(path, false, &stop); });
    auto wait_for = [&](std::size_t n) {
        for (int i = 0; i < 100; ++i) {
            {
                std::lock_guard l(mu);
                if (got.size() >= n) return true;
            }
            usleep(50'000);
        }
        return false;
    };
    usleep(300'000);
    std::ofstream(path, std::ios::app) << line(2) << "\n" << line(3).substr(0, 30);
    usleep(300'000);
    std::ofstream(path, std::ios::app) << line(3).substr(30) << "\n";  // a line in two writes
    CHECK(wait_for(2));
    fs::rename(path, d / "log.1");
    std::ofstream(d / "log.1", std::ios::app) << line(4) << "\n";  // written before the reopen
    write(path, line(5) + "\n");
    CHECK(wait_for(4));
    fs::resize_file(path, 0);  // copytruncate
    usleep(300'000);
    write(path, line(6) + "\n");
    CHECK(wait_for(5));
    stop = 1;
    t.join();
    CHECK(got == std::vector<std::string>{"Q2", "Q3", "Q4", "Q5", "Q6"});
}
