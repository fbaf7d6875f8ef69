// log_line: one delivery-log line → the fields `chainmail log` and `report`
// use, as views into the line. parse_line() accepts only a whole JSON object
// (RFC 8259) with "ts" and "event"; anything else is a damaged line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chainmail::log {

// A JSON string as it stands in the line, between its quotes.
struct JsonText {
    std::string_view raw;
    bool escaped = false;  // raw holds a backslash escape: str() decodes it

    bool empty() const { return raw.empty(); }
    std::string str() const;  // decoded (UTF-8)
    // Equal to `plain` (which has no escapes); ASCII case folded when `fold`.
    bool equals(std::string_view plain, bool fold = false) const;
};

struct LogRecord {
    JsonText ts, event, queue_id, message_id, from, rcpt, partner, policy, host, ip, dsn, reply,
        would_fail, ndr_queue_id, reason, client_ip, tls_version, tls_cipher, tls_auth;
    bool has_tls = false;
    std::string_view rcpts;  // `received`: the JSON array text, for for_each_rcpt()
    std::string_view port, attempt, delay_s, size;  // JSON number text
};

// Fills `out` from `line` (no trailing newline). False for a damaged line:
// not one JSON object, nested deeper than 8, or without "ts"/"event" strings.
bool parse_line(std::string_view line, LogRecord& out);
// The record would point into a string that dies at the end of the call.
bool parse_line(std::string&& line, LogRecord& out) = delete;

// Calls f(JsonText) for each string of a JSON array text (LogRecord::rcpts).
template <class F>
void for_each_string(std::string_view array, F&& f);

// Decodes the JSON escapes of `raw` (validated by parse_line) into UTF-8.
std::string json_unescape(std::string_view raw);
// The JSON form of `s` without the quotes, as the log's writer makes it.
std::string json_escape(std::string_view s);

// Start of `rcpts` after '[', or the position of the next string: internal.
std::size_t next_array_string(std::string_view array, std::size_t pos, JsonText& out);

template <class F>
void for_each_string(std::string_view array, F&& f) {
    JsonText t;
    for (std::size_t pos = 0; (pos = next_array_string(array, pos, t)) != std::string_view::npos;)
        f(t);
}

}  // namespace chainmail::log
