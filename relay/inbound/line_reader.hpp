// line_reader: finds one CRLF-terminated line in received bytes. Pure: the
// caller owns the buffer. A bare CR or LF is reported, never taken for a line
// end (RFC 5321 §2.3.8: lines end with CRLF only; SMTP smuggling).
#pragma once

#include <cstddef>
#include <string_view>

namespace chainmail::inbound {

enum class LineStatus : unsigned char {
    Complete,  // a line of `length` bytes, CRLF included
    NeedMore,  // no line end yet, and the bytes so far are within the limit
    TooLong,   // `max` bytes without a line end
    BareLf,    // an LF not preceded by CR
    BareCr,    // a CR not followed by LF
};

struct LineScan {
    LineStatus status = LineStatus::NeedMore;
    std::size_t length = 0;
};

// Scans `buf` for the first line; `max` counts the CRLF too.
LineScan scan_line(std::string_view buf, std::size_t max);

}  // namespace chainmail::inbound
