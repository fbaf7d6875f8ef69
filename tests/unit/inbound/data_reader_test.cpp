// DATA: dot-unstuffing, the one true end of data, and every smuggling variant.
#include <catch2/catch.hpp>
#include <random>

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

// The reader as it was first written, one byte at a time: the reference
// that the faster one must match byte for byte.
struct ByteReader {
    enum class State { LineStart, Middle, Cr, Dot, DotCr } state = State::LineStart;
    std::size_t line_len = 0, max_line = 1000;
    bool nul = false, too_long = false;

    // Nothing more is kept after an over-long line (the session refuses it).
    void put(std::string& out, std::string_view run) const {
        if (!too_long) out.append(run);
    }

    DataReader::Result feed(std::string_view in, std::string& out) {
        std::size_t run = 0;
        for (std::size_t i = 0; i < in.size(); ++i) {
            const char c = in[i];
            switch (state) {
                case State::LineStart:
                    line_len = 0;
                    if (c == '.') {
                        put(out, in.substr(run, i - run));
                        run = i + 1;
                        state = State::Dot;
                        ++line_len;
                        continue;
                    }
                    state = State::Middle;
                    break;
                case State::Dot:
                    if (c == '\r') {
                        run = i + 1;
                        state = State::DotCr;
                        continue;
                    }
                    state = State::Middle;
                    break;
                case State::DotCr:
                    if (c == '\n') return {DataStatus::End, i + 1};
                    return {DataStatus::BareCr, i};
                case State::Middle:
                    break;
                case State::Cr:
                    if (c != '\n') return {DataStatus::BareCr, i};
                    if (line_len + 1 > max_line) too_long = true;
                    state = State::LineStart;
                    continue;
            }
            if (c == '\n') return {DataStatus::BareLf, i};
            if (c == '\0') nul = true;
            ++line_len;
            if (c == '\r') state = State::Cr;
        }
        put(out, in.substr(run));
        return {DataStatus::NeedMore, in.size()};
    }
};

}  // namespace

TEST_CASE("the reader matches the byte-at-a-time reference on random input") {
    std::mt19937 rng(20261203);
    const std::string alphabet("aaaaaaaa.\r\n\r\n\0", 14);  // with its NUL
    for (int round = 0; round < 3000; ++round) {
        std::string wire;
        const std::size_t len = rng() % 200;
        for (std::size_t k = 0; k < len; ++k) {
            // Mostly well-formed lines of random length, with stray bytes mixed in.
            const unsigned r = rng() % 100;
            if (r < 8)
                wire += "\r\n";
            else if (r < 10)
                wire += "\r\n.";
            else
                wire += alphabet[rng() % alphabet.size()];
        }
        if (rng() % 2) wire += "\r\n.\r\n";
        const std::size_t step = 1 + rng() % 40;
        const std::size_t max_line = 5 + rng() % 30;
        INFO("round " << round << " step " << step);
        DataReader fast(1 << 20, max_line);
        ByteReader ref;
        ref.max_line = max_line;
        std::string got, want;
        for (std::size_t pos = 0; pos < wire.size();) {
            const std::string_view piece = std::string_view(wire).substr(pos, step);
            const DataReader::Result a = fast.feed(piece, got);
            const DataReader::Result b = ref.feed(piece, want);
            REQUIRE(a.status == b.status);
            REQUIRE(a.consumed == b.consumed);
            if (a.status != DataStatus::NeedMore) break;
            REQUIRE(got == want);
            REQUIRE(fast.has_nul() == ref.nul);
            REQUIRE(fast.line_too_long() == ref.too_long);
            pos += a.consumed;
        }
        CHECK(got == want);
    }
}

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
