// spool_journal: segment files on disk; see FORMAT.md for the layout.
#include "relay/spool/spool_journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace chainmail::spool::journal {

namespace {

constexpr char kSegmentMagic[8] = {'C', 'M', 'S', 'P', 'O', 'O', 'L', '1'};

std::error_code last_error() {
    return {errno, std::generic_category()};
}

std::array<char, kSegmentHeaderSize> segment_header(std::uint64_t seq) {
    std::array<char, kSegmentHeaderSize> h{};
    std::memcpy(h.data(), kSegmentMagic, 8);
    for (int i = 0; i < 8; ++i) h[8 + i] = static_cast<char>(seq >> (8 * i));
    return h;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string segment_path(const std::string& dir, std::uint64_t seq) {
    return fmt::format("{}/{:016x}.seg", dir, seq);
}

std::vector<std::uint64_t> list_segments(const std::string& dir) {
    std::vector<std::uint64_t> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name.size() != 20 || name.substr(16) != ".seg") continue;
        std::uint64_t seq = 0;
        bool ok = true;
        for (char c : name.substr(0, 16)) {
            int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (v < 0) ok = false;
            seq = seq << 4 | static_cast<std::uint64_t>(v & 15);
        }
        if (ok) out.push_back(seq);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::error_code fsync_dir(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return last_error();
    if (::fsync(fd.get()) != 0) return last_error();
    return {};
}

std::error_code create_segment(const std::string& dir, std::uint64_t seq, Fd& out) {
    std::string path = segment_path(dir, seq);
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return last_error();
    auto h = segment_header(seq);
    std::error_code ec = write_all(fd.get(), 0, {{h.data(), h.size()}});
    if (!ec && ::fsync(fd.get()) != 0) ec = last_error();
    if (!ec) ec = fsync_dir(dir);  // the new name must survive a crash too
    if (ec) {
        ::unlink(path.c_str());
        return ec;
    }
    out = std::move(fd);
    return {};
}

std::error_code write_all(int fd, std::uint64_t offset, const std::vector<Slice>& slices) {
    std::vector<iovec> iov;
    iov.reserve(slices.size());
    for (const Slice& s : slices)
        if (s.size) iov.push_back({const_cast<char*>(s.data), s.size});
    std::size_t i = 0;
    while (i < iov.size()) {
        int n = static_cast<int>(std::min<std::size_t>(iov.size() - i, IOV_MAX));
        ssize_t w = ::pwritev(fd, iov.data() + i, n, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        if (w == 0) return std::make_error_code(std::errc::io_error);
        offset += static_cast<std::uint64_t>(w);
        auto left = static_cast<std::size_t>(w);
        while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
        if (left) {
            iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
            iov[i].iov_len -= left;
        }
    }
    return {};
}

std::error_code read_exact(int fd, std::uint64_t offset, char* out, std::size_t n) {
    while (n) {
        ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
        if (r < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        if (r == 0) return std::make_error_code(std::errc::io_error);  // file shrank
        out += r;
        n -= static_cast<std::size_t>(r);
        offset += static_cast<std::uint64_t>(r);
    }
    return {};
}

ScanResult scan_segment(int fd, std::uint64_t seq, const RecordFn& fn) {
    ScanResult res;
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        res.error = last_error();
        return res;
    }
    res.file_size = static_cast<std::uint64_t>(st.st_size);
    const std::uint64_t size = res.file_size;
    std::array<char, kSegmentHeaderSize> sh{};
    if (size < sh.size() || read_exact(fd, 0, sh.data(), sh.size()) || sh != segment_header(seq)) {
        res.torn = size > 0;
        return res;
    }
    res.header_ok = true;
    std::uint64_t off = kSegmentHeaderSize;
    res.good_end = off;
    std::array<char, records::kHeaderSize> hdr{};
    std::string body;
    // A header at `at` that is valid and whose whole frame lies in the file.
    auto frame_at = [&](std::uint64_t at) -> std::optional<records::Header> {
        if (size - at < records::kHeaderSize) return std::nullopt;
        if ((res.error = read_exact(fd, at, hdr.data(), hdr.size()))) return std::nullopt;
        auto h = records::parse_header(hdr.data());
        if (!h ||
            size - at - records::kHeaderSize < std::uint64_t{h->length} + records::kTrailerSize)
            return std::nullopt;
        return h;
    };
    while (off < size) {
        auto h = frame_at(off);
        if (!h) break;
        std::array<char, records::kHeaderSize> header = hdr;
        body.resize(std::size_t{h->length} + records::kTrailerSize);
        if ((res.error = read_exact(fd, off + records::kHeaderSize, body.data(), body.size())))
            break;
        std::string_view payload(body.data(), h->length);
        std::uint64_t next = off + records::kHeaderSize + body.size();
        if (records::check_trailer(header.data(), payload, body.data() + h->length)) {
            fn(*h, off, payload);
        } else if (next < size && frame_at(next)) {
            ++res.corrupt;  // damaged in place, yet the journal goes on after it
        } else {
            break;  // a damaged last frame is a torn write
        }
        off = next;
        res.good_end = off;
    }
    res.torn = res.good_end < size;
    return res;
}

}  // namespace chainmail::spool::journal
