#include "relay/log/log_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/core.h>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "relay/log/log_time.hpp"

namespace chainmail::log {

namespace {

constexpr std::size_t kBuffer = 1 << 20;  // also the longest line we take
constexpr std::string_view kTsPrefix = "{\"ts\":\"";

unsigned char fold(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
    nanosleep(&ts, nullptr);
}

}  // namespace

// One open file: a plain descriptor or a zlib stream, and the part of a
// line read but not yet ended by a newline.
struct LogReader::Source {
    std::string path;
    int fd = -1;
    gzFile gz = nullptr;
    std::size_t have = 0;      // bytes at the front of buf_ not yet processed
    std::uint64_t offset = 0;  // stream offset of buf_[0]
    std::uint64_t pos = 0;     // bytes read from the stream
    bool skipping = false;     // inside a line longer than the buffer
    std::string error;

    ~Source() { close(); }
    void reset() {
        close();
        have = 0;
        offset = pos = 0;
        skipping = false;
        error.clear();
    }
    void close() {
        if (gz)
            gzclose(gz);  // closes fd too
        else if (fd >= 0)
            ::close(fd);
        gz = nullptr;
        fd = -1;
    }
    bool open(const std::string& p) {
        path = p;
        fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            error = std::strerror(errno);
            return false;
        }
        unsigned char magic[2] = {0, 0};
        if (::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            gz = gzdopen(fd, "rb");
            if (!gz) {
                error = "cannot start gzip decoding";
                return false;
            }
            gzbuffer(gz, 256 * 1024);
        } else {
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        return true;
    }
    // >0 bytes, 0 at the end, <0 on error (error says which).
    long read(char* into, std::size_t n) {
        if (gz) {
            const int r = gzread(gz, into, static_cast<unsigned>(n));
            if (r == 0) {
                // zlib ends a stream cut short like a whole one, with Z_BUF_ERROR set.
                int code = Z_OK;
                gzerror(gz, &code);
                if (code == Z_BUF_ERROR) {
                    error = "the compressed file is cut short";
                    return -1;
                }
            }
            if (r < 0) {
                int code = 0;
                const char* msg = gzerror(gz, &code);
                error = std::string("compressed data damaged or cut short (") +
                        (msg ? msg : "zlib error") + ")";
            }
            return r;
        }
        for (;;) {
            const ssize_t r = ::read(fd, into, n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) error = std::strerror(errno);
            return static_cast<long>(r);
        }
    }
};

LogReader::LogReader(Prefilter pf, OnRecord on_record)
    : pf_(std::move(pf)), on_record_(std::move(on_record)), buf_(kBuffer) {
    if (pf_.fold) {
        for (char c : pf_.needle) folded_.push_back(static_cast<char>(fold(c)));
        const std::size_t m = folded_.size();
        for (std::size_t& s : skip_) s = m;
        for (std::size_t k = 0; k + 1 < m; ++k)
            skip_[static_cast<unsigned char>(folded_[k])] = m - 1 - k;
    }
}

LogReader::~LogReader() = default;

const char* LogReader::find(const char* p, const char* end) const {
    if (!pf_.fold)
        return static_cast<const char*>(
            memmem(p, static_cast<std::size_t>(end - p), pf_.needle.data(), pf_.needle.size()));
    // Horspool over ASCII-folded bytes: addresses and ids are matched without case.
    const std::size_t m = folded_.size();
    const std::size_t last = m - 1;
    for (const char* s = p; static_cast<std::size_t>(end - s) >= m;) {
        const unsigned char c = fold(static_cast<unsigned char>(s[last]));
        if (c == static_cast<unsigned char>(folded_[last])) {
            std::size_t k = 0;
            while (k < last &&
                   fold(static_cast<unsigned char>(s[k])) == static_cast<unsigned char>(folded_[k]))
                ++k;
            if (k == last) return s;
        }
        s += skip_[c];
    }
    return nullptr;
}

void LogReader::damaged(const std::string& file, std::uint64_t offset) {
    ++stats_.damaged;
    if (damage_.empty() || damage_.back().file != file) damage_.push_back({file, 0, offset});
    ++damage_.back().count;
}

void LogReader::handle_line(std::string_view line, const std::string& file, std::uint64_t offset) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return;  // a blank line holds nothing to lose
    const bool windowed = !pf_.ts_min.empty() || !pf_.ts_max.empty();
    // The writer puts "ts" first in a fixed-width form: judge the time unparsed.
    if (windowed && line.size() > 31 && line.substr(0, 7) == kTsPrefix && line[30] == 'Z' &&
        line[31] == '"') {
        const std::string_view ts = line.substr(7, 24);
        if ((!pf_.ts_min.empty() && ts < pf_.ts_min) || (!pf_.ts_max.empty() && ts > pf_.ts_max))
            return;
    }
    LogRecord rec;
    if (!parse_line(line, rec)) {
        damaged(file, offset);
        // A line cut short by a crash has the next whole line glued to it.
        const std::size_t at = line.rfind(kTsPrefix);
        if (at == std::string_view::npos || at == 0 || !parse_line(line.substr(at), rec)) return;
        line = line.substr(at);
    }
    if (windowed) {
        std::string ts(rec.ts.raw);
        if (ts.size() != 24 || ts.back() != 'Z') {
            const auto ms = parse_ts(rec.ts.str());
            if (!ms) {
                damaged(file, offset);
                return;
            }
            ts = iso_ms(*ms);
        }
        if ((!pf_.ts_min.empty() && ts < pf_.ts_min) || (!pf_.ts_max.empty() && ts > pf_.ts_max))
            return;
    }
    ++stats_.parsed;
    on_record_(line, rec);
}

void LogReader::process(const char* p, const char* end, const std::string& file,
                        std::uint64_t base) {
    const char* const start = p;
    if (pf_.needle.empty()) {
        while (p < end) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
            handle_line({p, static_cast<std::size_t>(nl - p)}, file, base + (p - start));
            p = nl + 1;
        }
        return;
    }
    while (p < end) {
        const char* hit = find(p, end);
        if (!hit) return;
        const char* ls = static_cast<const char*>(memrchr(p, '\n', hit - p));
        ls = ls ? ls + 1 : p;
        const char* le = static_cast<const char*>(std::memchr(hit, '\n', end - hit));
        handle_line({ls, static_cast<std::size_t>(le - ls)}, file, base + (ls - start));
        p = le + 1;
    }
}

bool LogReader::read_chunks(Source& src) {
    char* const buf = buf_.data();
    for (;;) {
        const long n = src.read(buf + src.have, buf_.size() - src.have);
        if (n < 0) return false;
        if (n == 0) return true;
        src.pos += static_cast<std::uint64_t>(n);
        src.have += static_cast<std::size_t>(n);
        const char* last = static_cast<const char*>(memrchr(buf, '\n', src.have));
        if (!last) {
            if (src.have == buf_.size()) {  // a line longer than we take: skip it
                if (!src.skipping) damaged(src.path, src.offset);
                src.skipping = true;
                src.offset += src.have;
                src.have = 0;
            }
            continue;
        }
        std::size_t from = 0;
        const std::size_t upto = static_cast<std::size_t>(last - buf) + 1;
        if (src.skipping) {
            from = static_cast<std::size_t>(static_cast<const char*>(std::memchr(buf, '\n', upto)) -
                                            buf) +
                   1;
            src.skipping = false;
        }
        process(buf + from, buf + upto, src.path, src.offset + from);
        std::memmove(buf, buf + upto, src.have - upto);
        src.offset += upto;
        src.have -= upto;
    }
}

void LogReader::read_file(const std::string& path) {
    Source src;
    if (!src.open(path)) {
        stats_.notes.push_back(fmt::format("{}: cannot open: {}", path, src.error));
        return;
    }
    ++stats_.files;
    if (!read_chunks(src))
        stats_.notes.push_back(
            fmt::format("{}: read stopped at byte {}: {}", path, src.offset + src.have, src.error));
    // A last line without its newline: whole (a hand edit) or cut short (a crash).
    if (src.have > 0 && !src.skipping) {
        std::string_view rest(buf_.data(), src.have);
        if (pf_.needle.empty() || find(rest.data(), rest.data() + rest.size()))
            handle_line(rest, path, src.offset);
    }
}

std::string LogReader::first_ts(const std::string& path) {
    Source src;
    if (!src.open(path)) return {};
    std::string head(64 * 1024, '\0');
    const long n = src.read(head.data(), head.size());
    if (n <= 0) return {};
    head.resize(static_cast<std::size_t>(n));
    std::string_view h = head;
    for (std::size_t at = 0; at < h.size();) {
        std::size_t nl = h.find('\n', at);
        if (nl == std::string_view::npos) return {};
        LogRecord rec;
        if (parse_line(h.substr(at, nl - at), rec)) {
            const auto ms = parse_ts(rec.ts.str());
            return ms ? iso_ms(*ms) : std::string{};
        }
        at = nl + 1;
    }
    return {};
}

void LogReader::read_files(const std::vector<std::string>& paths) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
        // Oldest first: when the next file starts before the window, this one
        // ends before it too. (Only for one relay's rotated set, which is ordered.)
        if (!pf_.ts_min.empty() && i + 1 < paths.size()) {
            const std::string next = first_ts(paths[i + 1]);
            if (!next.empty() && next < pf_.ts_min) {
                ++stats_.skipped_files;
                continue;
            }
        }
        if (!pf_.ts_max.empty()) {
            const std::string first = first_ts(paths[i]);
            if (!first.empty() && first > pf_.ts_max) {
                ++stats_.skipped_files;
                continue;
            }
        }
        read_file(paths[i]);
    }
}

void LogReader::follow(const std::string& path, bool from_start, volatile std::sig_atomic_t* stop) {
    Source src;
    while (!*stop && !src.open(path)) sleep_ms(200);
    if (*stop) return;
    if (!from_start && !src.gz) {
        const off_t end = ::lseek(src.fd, 0, SEEK_END);
        src.offset = src.pos = end > 0 ? static_cast<std::uint64_t>(end) : 0;
    }
    while (!*stop) {
        if (!read_chunks(src)) {
            sleep_ms(200);
            continue;
        }
        struct stat now {
        }, ours{};
        if (::stat(path.c_str(), &now) == 0 && ::fstat(src.fd, &ours) == 0) {
            if (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev) {
                // Rotated. Once the new file has a line, the writer has reopened
                // and the old file is complete: finish it, then start the new one.
                if (now.st_size > 0) {
                    read_chunks(src);
                    if (src.have > 0 && !src.skipping)
                        handle_line({buf_.data(), src.have}, src.path, src.offset);
                    src.reset();
                    if (src.open(path)) continue;
                    while (!*stop && !src.open(path)) sleep_ms(200);
                    continue;
                }
            } else if (static_cast<std::uint64_t>(now.st_size) < src.pos) {
                // Truncated in place (logrotate copytruncate): start over.
                ::lseek(src.fd, 0, SEEK_SET);
                src.have = 0;
                src.offset = src.pos = 0;
                src.skipping = false;
                continue;
            }
        }
        sleep_ms(200);
    }
}

std::string LogReader::damage_summary() const {
    std::string out;
    if (stats_.damaged > 0) {
        out =
            fmt::format("{} damaged line{} skipped (not one whole JSON object with ts and event):",
                        stats_.damaged, stats_.damaged == 1 ? "" : "s");
        for (const Damage& d : damage_)
            out += fmt::format(" {}: {} (first at byte {});", d.file, d.count, d.first);
        out.pop_back();
    }
    for (const std::string& n : stats_.notes) out += (out.empty() ? "" : "\n") + n;
    return out;
}

}  // namespace chainmail::log
