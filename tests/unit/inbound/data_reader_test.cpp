// DATA: dot-unstuffing, the one true end of data, and every smuggling variant.
#include <catch2/catch.hpp>

#include "relay/inbound/data_reader.hpp"
#include "relay/inbound/line_reader.hpp"

using namespace chainmail::inbound;

namespace {

struct Fed {
    DataStatus status = DataStatus::NeedMore;
    std::size_t consumed = 0;
    std::string message;
};

// Feeds `wire` in pieces of `step` bytes, as the network would.
Fed feed(std::string_view wire, std::size_t step = 1 << 20, std::uint64_t max = 1 << 20,
         std::size_t max_line = 1000) {
    DataReader r(max, max_line);
    Fed f;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        auto piece = wire.substr(pos, step);
        auto res = r.feed(piece, f.message);
        pos += res.consumed;
        f.consumed = pos;
        f.status = res.status;
        if (res.status != DataStatus::NeedMore) break;
    }
    return f;
}

}  // namespace

TEST_CASE("CRLF.CRLF ends DATA, whatever the read boundaries") {
    const std::string wire = "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";
    for (std::size_t step : {1, 2, 3, 5, 7, 64}) {
        INFO(step);
        Fed f = feed(wire, step);
        CHECK(f.status == DataStatus::End);
        CHECK(f.message == "Subject: x\r\n\r\nbody\r\n");
        CHECK(wire.substr(f.consumed) == "QUIT\r\n");  // pipelined command left unread
    }
}

TEST_CASE("an empty message is just the end marker") {
    Fed f = feed(".\r\n");
    CHECK(f.status == DataStatus::End);
    CHECK(f.message.empty());
}

TEST_CASE("dot-stuffing is undone exactly (RFC 5321 §4.5.2)") {
    for (std::size_t step : {1, 3, 100}) {
        Fed f = feed("..\r\n...x\r\n.y\r\na.b\r\n. \r\n.\r\n", step);
        CHECK(f.status == DataStatus::End);
        CHECK(f.message == ".\r\n..x\r\ny\r\na.b\r\n \r\n");
    }
}

TEST_CASE("SMTP smuggling: no bare-newline variant ends DATA") {
    // Each would end DATA in some lenient server; here each is refused, and
    // the smuggled MAIL FROM after it is never reached as a command.
    const char* variants[] = {
        "x\r\n\n.\nMAIL FROM:<evil@x>\r\n",    // \n.\n
        "x\r\n\n.\r\nMAIL FROM:<evil@x>\r\n",  // \n.\r\n
        "x\r\n.\nMAIL FROM:<evil@x>\r\n",      // \r\n.\n
        "x\r\r.\rMAIL FROM:<evil@x>\r\n",      // \r.\r
        "x\r\n.\rMAIL FROM:<evil@x>\r\n",      // \r\n.\r
        "x\n.\r\nMAIL FROM:<evil@x>\r\n",      // bare LF then .CRLF
        "x\r.\r\nMAIL FROM:<evil@x>\r\n",      // bare CR then .CRLF
    };
    for (const char* v : variants) {
        for (std::size_t step : {1, 2, 64}) {
            INFO(v << " step " << step);
            Fed f = feed(v, step);
            CHECK((f.status == DataStatus::BareLf || f.status == DataStatus::BareCr));
            CHECK(f.message.find("MAIL FROM") == std::string::npos);
        }
    }
}

TEST_CASE("bare LF and bare CR inside a line are refused") {
    CHECK(feed("a\nb\r\n.\r\n").status == DataStatus::BareLf);
    CHECK(feed("a\rb\r\n.\r\n").status == DataStatus::BareCr);
    CHECK(feed("a\r\r\n.\r\n").status == DataStatus::BareCr);
}

TEST_CASE("a message over the size limit is read to its end but not kept") {
    std::string body(5000, 'x');
    std::string wire;
    for (int i = 0; i < 10; ++i) wire += body.substr(0, 900) + "\r\n";
    wire += ".\r\nNOOP\r\n";
    DataReader r(4000, 1000);
    std::string out;
    auto res = r.feed(wire, out);
    CHECK(res.status == DataStatus::End);
    CHECK(r.too_big());
    CHECK(out.empty());
    CHECK(wire.substr(res.consumed) == "NOOP\r\n");
}

TEST_CASE("a line longer than max_line_length is noticed, DATA still ends at CRLF.CRLF") {
    std::string ok = std::string(998, 'a') + "\r\n.\r\n";  // 1000 with CRLF: allowed
    DataReader r1(1 << 20, 1000);
    std::string out;
    CHECK(r1.feed(ok, out).status == DataStatus::End);
    CHECK_FALSE(r1.line_too_long());

    std::string bad = std::string(999, 'a') + "\r\nb\r\n.\r\n";
    DataReader r2(1 << 20, 1000);
    out.clear();
    CHECK(r2.feed(bad, out).status == DataStatus::End);
    CHECK(r2.line_too_long());
}

TEST_CASE("over the size and over the line length: too big, however the reads were cut") {
    // Found by the data_reader fuzz target: read in one piece, the long line
    // hid the size and the client got 550 5.6.0 instead of 552 5.3.4.
    const std::string wire = "012H45pqrstuvwxyz012345678 farold 0t.\r\n.\r\n";
    for (std::size_t step : {std::size_t{1}, std::size_t{16}, wire.size()}) {
        INFO(step);
        DataReader r(0, 14);
        std::string out;
        std::size_t pos = 0;
        DataReader::Result res;
        while (pos < wire.size() && res.status == DataStatus::NeedMore) {
            res = r.feed(std::string_view(wire).substr(pos, step), out);
            pos += res.consumed;
        }
        CHECK(res.status == DataStatus::End);
        CHECK(r.too_big());
        CHECK(r.line_too_long());
        CHECK(out.empty());
    }
}

TEST_CASE("line reader: one CRLF line, bounded, bare CR and LF refused") {
    CHECK(scan_line("NOOP\r\nQUIT\r\n", 512).status == LineStatus::Complete);
    CHECK(scan_line("NOOP\r\nQUIT\r\n", 512).length == 6);
    CHECK(scan_line("NOOP", 512).status == LineStatus::NeedMore);
    CHECK(scan_line("NOOP\r", 512).status == LineStatus::NeedMore);
    CHECK(scan_line("NOOP\nQUIT\r\n", 512).status == LineStatus::BareLf);
    CHECK(scan_line("NO\rOP\r\n", 512).status == LineStatus::BareCr);
    CHECK(scan_line(std::string(512, 'a'), 512).status == LineStatus::TooLong);
    CHECK(scan_line(std::string(510, 'a') + "\r\n", 512).status == LineStatus::Complete);
    CHECK(scan_line(std::string(511, 'a') + "\r\n", 512).status == LineStatus::TooLong);
    CHECK(scan_line(std::string(100, 'a'), 512).status == LineStatus::NeedMore);
}

TEST_CASE("a NUL byte is noted wherever it is, and does not end DATA") {
    using namespace std::string_literals;
    for (std::size_t step : {1, 2, 100}) {
        INFO(step);
        // "\r\n\0.\r\n": a receiver that drops NULs would see an end of data here.
        Fed f = feed("Subject: x\r\n\r\nbody\r\n\0.\r\nmore\r\n.\r\n"s, step);
        CHECK(f.status == DataStatus::End);
        DataReader r(1 << 20, 1000);
        std::string out;
        CHECK(r.feed("a\r\n\0.\r\nb\r\n.\r\n"s, out).status == DataStatus::End);
        CHECK(r.has_nul());
    }
    for (const auto& wire : {"..\0\r\n.\r\n"s, "\0\r\n.\r\n"s, "x\0y\r\n.\r\n"s}) {
        DataReader r(1 << 20, 1000);
        std::string out;
        CHECK(r.feed(wire, out).status == DataStatus::End);
        CHECK(r.has_nul());
    }
    DataReader clean(1 << 20, 1000);
    std::string out;
    CHECK(clean.feed("no nul here\r\n.\r\n", out).status == DataStatus::End);
    CHECK_FALSE(clean.has_nul());
}
