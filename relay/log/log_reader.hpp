// log_reader: streams delivery-log files (plain or gzip, told by content) in
// constant memory. A prefilter (a fixed string, a time window) picks lines
// before any JSON is parsed; a damaged line is skipped and counted, never fatal.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/log/log_line.hpp"

namespace chainmail::log {

struct Prefilter {
    std::string needle;  // a line must contain it (empty: every line)
    bool fold = false;   // ASCII case-insensitive needle
    std::string ts_min;  // iso_ms() form; empty: open. Lines outside are not parsed.
    std::string ts_max;
};

struct ReadStats {
    std::uint64_t parsed = 0;         // lines that passed the prefilter and parsed
    std::uint64_t damaged = 0;        // lines skipped: not one JSON object with ts and event
    std::uint64_t files = 0;          // files read
    std::uint64_t skipped_files = 0;  // wholly before ts_min, not read
    // One sentence per file with damage or a read error, for the warning.
    std::vector<std::string> notes;
};

class LogReader {
  public:
    // `on_record` gets each line that passes the prefilter and parses, with its record.
    using OnRecord = std::function<void(std::string_view line, const LogRecord& rec)>;
    LogReader(Prefilter pf, OnRecord on_record);
    ~LogReader();
    LogReader(const LogReader&) = delete;
    LogReader& operator=(const LogReader&) = delete;

    // Reads the files in order (oldest first). A file wholly before ts_min
    // (the next file starts before it) is skipped unread; a file that cannot
    // be opened is a note, and the rest is still read.
    void read_files(const std::vector<std::string>& paths);
    // Reads one file to its end (a truncated last line counts as damaged).
    void read_file(const std::string& path);
    // Follows `path` like `tail -F` until *stop becomes non-zero: from its
    // end (or its start, `from_start`), across rotation (rename and a new
    // file) and truncation, polling every 200 ms.
    void follow(const std::string& path, bool from_start, volatile std::sig_atomic_t* stop);

    const ReadStats& stats() const { return stats_; }
    // "3 damaged lines skipped: FILE: 2 (first at byte 1234); ..." or "".
    std::string damage_summary() const;

  private:
    struct Source;
    bool read_chunks(Source& src);
    void process(const char* p, const char* end, const std::string& file, std::uint64_t base);
    void handle_line(std::string_view line, const std::string& file, std::uint64_t offset);
    void damaged(const std::string& file, std::uint64_t offset);
    const char* find(const char* p, const char* end) const;
    std::string first_ts(const std::string& path);

    Prefilter pf_;
    OnRecord on_record_;
    ReadStats stats_;
    std::vector<char> buf_;
    std::size_t skip_[256];  // Horspool shift table for a folded needle
    std::string folded_;
    // Damage per file, in reading order: name, count, first byte offset.
    struct Damage {
        std::string file;
        std::uint64_t count = 0;
        std::uint64_t first = 0;
    };
    std::vector<Damage> damage_;
};

}  // namespace chainmail::log
