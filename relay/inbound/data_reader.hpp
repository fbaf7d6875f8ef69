// data_reader: the DATA phase as a state machine (the middle of a line is
// skimmed with memchr). Undoes dot-stuffing exactly (RFC 5321 §4.5.2), ends
// only at CRLF "." CRLF (§4.1.1.4), and reports a bare CR or LF at once (SMTP
// smuggling). A NUL byte is only noted: the session refuses the message after
// the final dot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chainmail::inbound {

enum class DataStatus : unsigned char {
    NeedMore,  // every byte given was consumed; the end is still to come
    End,       // CRLF.CRLF seen; bytes after it were not consumed
    BareLf,    // protocol violation: the session refuses and closes
    BareCr,
};

class DataReader {
  public:
    // Keeps at most `max_size` bytes of message; past that, and after an
    // over-long line, it keeps reading to the end but stores nothing more.
    DataReader(std::uint64_t max_size, std::size_t max_line_length)
        : max_size_(max_size), max_line_(max_line_length) {}

    struct Result {
        DataStatus status = DataStatus::NeedMore;
        std::size_t consumed = 0;
    };

    // Appends the unstuffed message (CRLF lines, without the final ".CRLF")
    // to `out`.
    Result feed(std::string_view in, std::string& out);

    bool too_big() const { return too_big_; }
    bool line_too_long() const { return line_too_long_; }
    bool has_nul() const { return has_nul_; }             // a NUL byte anywhere in the message
    std::uint64_t received() const { return received_; }  // message bytes seen

  private:
    enum class State : unsigned char { LineStart, Middle, Cr, Dot, DotCr };
    void append(std::string& out, std::string_view run);

    std::uint64_t max_size_;
    std::size_t max_line_;
    State state_ = State::LineStart;
    std::size_t line_len_ = 0;
    std::uint64_t received_ = 0;
    bool too_big_ = false;
    bool line_too_long_ = false;
    bool has_nul_ = false;
};

}  // namespace chainmail::inbound
