#include "relay/tlsrpt/tlsrpt_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "relay/tlsrpt/tlsrpt_json.hpp"

namespace chainmail::tlsrpt {

namespace {

std::error_code errno_code() {
    return {errno, std::generic_category()};
}

std::error_code fsync_path(const std::string& p, int flags) {
    const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return errno_code();
    const int rc = ::fsync(fd);
    const std::error_code ec = rc == 0 ? std::error_code{} : errno_code();
    ::close(fd);
    return ec;
}

}  // namespace

std::vector<policy::TlsrptPeriod> CountsFile::load(std::string& problem) const {
    std::ifstream in(path(), std::ios::binary);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    if (auto periods = decode_periods(text.str())) return std::move(*periods);
    const std::string aside = path() + ".damaged";
    std::rename(path().c_str(), aside.c_str());
    problem = path() + " is damaged; set aside as " + aside;
    return {};
}

std::error_code CountsFile::save(const std::vector<policy::TlsrptPeriod>& periods) const {
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return errno_code();
    // Durable: write a temp file, fsync it, rename it into place, fsync the directory.
    const std::string tmp = dir_ + "/.counts.json.tmp";
    const std::string text = encode_periods(periods);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return errno_code();
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::error_code ec = errno_code();
            ::close(fd);
            ::unlink(tmp.c_str());
            return ec;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const std::error_code ec = errno_code();
        ::close(fd);
        ::unlink(tmp.c_str());
        return ec;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path().c_str()) != 0) {
        const std::error_code ec = errno_code();
        ::unlink(tmp.c_str());
        return ec;
    }
    return fsync_path(dir_, O_RDONLY | O_DIRECTORY);
}

}  // namespace chainmail::tlsrpt
