// Fuzzes the DATA reader (relay/inbound/data_reader): the message bytes a
// client sends after DATA, cut into reads at arbitrary points. Properties:
// the outcome does not depend on where the reads were cut; what it keeps is
// what a plain line-by-line reading gives (RFC 5321 §4.5.2); only CRLF "."
// CRLF ends DATA.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/inbound/data_reader.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::inbound;

namespace {

struct Fed {
    DataStatus status = DataStatus::NeedMore;
    std::size_t consumed = 0;
    std::string message;
    bool too_big = false;
    bool line_too_long = false;
    bool has_nul = false;
    std::uint64_t received = 0;
};

Fed feed(std::string_view wire, std::size_t step, std::uint64_t max, std::size_t max_line) {
    DataReader r(max, max_line);
    Fed f;
    while (f.consumed < wire.size()) {
        const auto res = r.feed(wire.substr(f.consumed, step), f.message);
        FUZZ_CHECK(res.consumed <= step);
        f.consumed += res.consumed;
        f.status = res.status;
        if (res.status != DataStatus::NeedMore) break;
    }
    f.too_big = r.too_big();
    f.line_too_long = r.line_too_long();
    f.has_nul = r.has_nul();
    f.received = r.received();
    return f;
}

// The reference: the lines before the final ".CRLF", each without a leading
// period (RFC 5321 §4.5.2), written plainly, line by line.
std::string unstuff(std::string_view consumed) {
    std::string_view body = consumed.substr(0, consumed.size() - 3);  // without ".\r\n"
    std::string out;
    while (!body.empty()) {
        const std::size_t end = body.find("\r\n");
        FUZZ_CHECK(end != std::string_view::npos);
        std::string_view line = body.substr(0, end + 2);
        FUZZ_CHECK(line.find('\n') == line.size() - 1);
        FUZZ_CHECK(line.find('\r') == line.size() - 2);
        if (line.front() == '.') line.remove_prefix(1);
        out.append(line);
        body.remove_prefix(end + 2);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    // The first bytes choose the read size and the limits; the rest is the wire.
    const std::size_t step = 1 + data[0] % 16;
    const std::uint64_t max = data[1] < 128 ? (1u << 20) : data[1] % 64;
    const std::size_t max_line = data[2] < 128 ? 1000 : 3 + data[2] % 16;
    const std::string_view wire(reinterpret_cast<const char*>(data) + 3, size - 3);

    const Fed whole = feed(wire, wire.size() ? wire.size() : 1, max, max_line);
    const Fed cut = feed(wire, step, max, max_line);
    FUZZ_CHECK(whole.status == cut.status);
    FUZZ_CHECK(whole.consumed == cut.consumed);
    // After a bare CR or LF the session throws the message away, so only
    // what was read up to the end (or so far) must not depend on the cuts.
    if (whole.status == DataStatus::End || whole.status == DataStatus::NeedMore) {
        // A message over a limit is refused at the end of DATA, whatever it kept.
        if (!whole.too_big && !whole.line_too_long) FUZZ_CHECK(whole.message == cut.message);
        FUZZ_CHECK(whole.too_big == cut.too_big);
        FUZZ_CHECK(whole.line_too_long == cut.line_too_long);
        FUZZ_CHECK(whole.has_nul == cut.has_nul);
        FUZZ_CHECK(whole.received == cut.received);
    }

    const std::string_view consumed = wire.substr(0, whole.consumed);
    switch (whole.status) {
        case DataStatus::End:
            FUZZ_CHECK(consumed == ".\r\n" || consumed.ends_with("\r\n.\r\n"));
            if (!whole.too_big && !whole.line_too_long) {
                FUZZ_CHECK(unstuff(consumed) == whole.message);
                FUZZ_CHECK(whole.has_nul == (whole.message.find('\0') != std::string::npos));
            }
            break;
        case DataStatus::NeedMore:
            FUZZ_CHECK(whole.consumed == wire.size());
            break;
        case DataStatus::BareLf:
            FUZZ_CHECK(wire[whole.consumed] == '\n');
            break;
        case DataStatus::BareCr:
            FUZZ_CHECK(whole.consumed > 0 && wire[whole.consumed - 1] == '\r');
            break;
    }
    if (whole.too_big) FUZZ_CHECK(whole.message.empty());
    FUZZ_CHECK(whole.message.size() <= max);
    return 0;
}
