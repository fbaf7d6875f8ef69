#include "relay/inbound/line_reader.hpp"

#include <cstring>

namespace chainmail::inbound {

LineScan scan_line(std::string_view buf, std::size_t max) {
    const std::size_t limit = buf.size() < max ? buf.size() : max;
    for (std::size_t i = 0; i < limit; ++i) {
        const char c = buf[i];
        if (c == '\n') return {LineStatus::BareLf, i};
        if (c != '\r') continue;
        if (i + 1 >= buf.size()) return {LineStatus::NeedMore, 0};
        if (buf[i + 1] != '\n') return {LineStatus::BareCr, i};
        if (i + 2 > max) break;
        return {LineStatus::Complete, i + 2};
    }
    if (buf.size() >= max) return {LineStatus::TooLong, 0};
    return {LineStatus::NeedMore, 0};
}

}  // namespace chainmail::inbound
