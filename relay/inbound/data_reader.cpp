#include "relay/inbound/data_reader.hpp"

#include <cstring>

namespace chainmail::inbound {

void DataReader::append(std::string& out, std::string_view run) {
    received_ += run.size();
    if (too_big_) return;
    // The size is checked even after an over-long line, so that the reply
    // (552 for size wins over 550 for the line) does not depend on where the
    // network cut the reads.
    if (received_ > max_size_) {
        too_big_ = true;
        std::string().swap(out);  // nothing of it will be kept: free the memory now
        return;
    }
    if (line_too_long_) return;
    out.append(run);
}

DataReader::Result DataReader::feed(std::string_view in, std::string& out) {
    std::size_t run = 0;  // start of the bytes to copy through unchanged
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        switch (state_) {
            case State::LineStart:
                line_len_ = 0;
                if (c == '.') {
                    // RFC 5321 §4.5.2: a leading period is removed; ".CRLF" ends DATA.
                    append(out, in.substr(run, i - run));
                    run = i + 1;
                    state_ = State::Dot;
                    ++line_len_;
                    continue;
                }
                state_ = State::Middle;
                break;
            case State::Dot:
                if (c == '\r') {
                    run = i + 1;  // the CR is held back: it may be the end marker
                    state_ = State::DotCr;
                    continue;
                }
                state_ = State::Middle;
                break;
            case State::DotCr:
                if (c == '\n') {
                    line_len_ = 0;
                    state_ = State::LineStart;
                    return {DataStatus::End, i + 1};
                }
                return {DataStatus::BareCr, i};
            case State::Middle: {
                // The bulk of a line: only its CR changes the state. Jump there
                // and look for LF and NUL in the bytes before it at memchr
                // speed, not byte by byte.
                const char* p = in.data() + i;
                const std::size_t left = in.size() - i;
                const char* cr = static_cast<const char*>(std::memchr(p, '\r', left));
                const std::size_t n = cr ? static_cast<std::size_t>(cr - p) : left;
                if (const void* lf = std::memchr(p, '\n', n))
                    return {DataStatus::BareLf,
                            i + static_cast<std::size_t>(static_cast<const char*>(lf) - p)};
                if (!has_nul_ && std::memchr(p, '\0', n)) has_nul_ = true;
                line_len_ += n;
                i += n;  // at the CR, or one past the end
                if (!cr) {
                    i = in.size() - 1;  // the loop's ++i ends it
                    continue;
                }
                ++line_len_;  // the CR
                state_ = State::Cr;
                continue;
            }
            case State::Cr:
                if (c != '\n') return {DataStatus::BareCr, i};
                if (line_len_ + 1 > max_line_) line_too_long_ = true;  // line_len_ counts the CR
                state_ = State::LineStart;
                continue;
        }
        // Middle: an ordinary byte of a line.
        if (c == '\n') return {DataStatus::BareLf, i};
        if (c == '\0') has_nul_ = true;
        ++line_len_;
        if (c == '\r') state_ = State::Cr;
    }
    append(out, in.substr(run));
    return {DataStatus::NeedMore, in.size()};
}

}  // namespace chainmail::inbound
