// spool_journal: segment files of the journal. A segment is a 16-byte header
// and records; scan_segment hands over every complete record whose CRC and
// END marker match and says where the valid data ends. Errors are values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "relay/spool/spool_records.hpp"

namespace chainmail::spool::journal {

inline constexpr std::size_t kSegmentHeaderSize = 16;

// An open file descriptor, closed on destruction.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

std::string segment_path(const std::string& dir, std::uint64_t seq);

// Segment sequence numbers present in dir, ascending.
std::vector<std::uint64_t> list_segments(const std::string& dir);

// Creates segment `seq` (header written, file and directory synced).
std::error_code create_segment(const std::string& dir, std::uint64_t seq, Fd& out);

std::error_code fsync_dir(const std::string& dir);

struct ScanResult {
    bool header_ok = false;
    std::uint64_t good_end = 0;  // end of the last valid record (or of the header)
    std::uint64_t file_size = 0;
    std::uint64_t corrupt = 0;  // complete frames skipped for a bad CRC or payload
    bool torn = false;          // data after good_end that is not a record
    std::error_code error;      // read error: scanning stopped at good_end
};

using RecordFn =
    std::function<void(const records::Header&, std::uint64_t offset, std::string_view payload)>;

// Reads segment `fd` from the start. A frame whose header is valid and whose
// length fits, but whose CRC/END fails, is skipped when a valid record or the
// end of the file follows it; anything else ends the valid data.
ScanResult scan_segment(int fd, std::uint64_t seq, const RecordFn& fn);

// pwrite-all of iovecs at offset; on error returns it (partial data may remain).
struct Slice {
    const char* data;
    std::size_t size;
};
std::error_code write_all(int fd, std::uint64_t offset, const std::vector<Slice>& slices);

std::error_code read_exact(int fd, std::uint64_t offset, char* out, std::size_t n);

}  // namespace chainmail::spool::journal
