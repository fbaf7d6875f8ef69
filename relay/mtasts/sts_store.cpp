#include "relay/mtasts/sts_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

namespace chainmail::mtasts {
namespace {

// A domain as a file name: only what a validated DNS name holds.
bool safe_name(const std::string& d) {
    if (d.empty() || d.size() > 253 || d.front() == '.') return false;
    for (char c : d)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
            return false;
    return true;
}

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

bool header_number(std::string_view line, std::string_view key, std::int64_t& out) {
    if (line.substr(0, key.size()) != key) return false;
    line.remove_prefix(key.size());
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), out);
    return ec == std::errc{} && p == line.data() + line.size();
}

}  // namespace

std::string encode_entry(const policy::StsCached& e, const std::string& body) {
    std::string out = "id: " + e.id + "\nfetched: " + std::to_string(e.fetched_s) +
                      "\nexpires: " + std::to_string(e.expires_s) + "\n\n";
    out += body;
    return out;
}

std::optional<policy::StsCached> decode_entry(const std::string& text) {
    const std::size_t sep = text.find("\n\n");
    if (sep == std::string::npos) return std::nullopt;
    std::istringstream head(text.substr(0, sep));
    policy::StsCached e;
    std::string line;
    bool id = false, fetched = false, expires = false;
    while (std::getline(head, line)) {
        if (line.rfind("id: ", 0) == 0) {
            e.id = line.substr(4);
            id = !e.id.empty();
        } else if (header_number(line, "fetched: ", e.fetched_s)) {
            fetched = true;
        } else if (header_number(line, "expires: ", e.expires_s)) {
            expires = true;
        } else {
            return std::nullopt;
        }
    }
    if (!id || !fetched || !expires) return std::nullopt;
    // The body is parsed again: a file is only ever as good as the policy in it.
    policy::StsParse p = policy::parse_sts_policy(std::string_view(text).substr(sep + 2));
    if (!p.policy) return std::nullopt;
    e.policy = std::move(*p.policy);
    return e;
}

std::string StsStore::path(const std::string& domain) const {
    return dir_ + "/" + domain;
}

std::optional<policy::StsCached> StsStore::load(const std::string& domain) const {
    if (!safe_name(domain)) return std::nullopt;
    std::ifstream in(path(domain), std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return decode_entry(text.str());
}

std::error_code StsStore::save(const std::string& domain, const policy::StsCached& entry,
                               const std::string& body) const {
    if (!safe_name(domain)) return std::make_error_code(std::errc::invalid_argument);
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return errno_code();
    // Durable: write a temp file, fsync it, rename it into place, fsync the directory.
    const std::string tmp = dir_ + "/." + domain + ".tmp";
    const std::string text = encode_entry(entry, body);
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
    if (::rename(tmp.c_str(), path(domain).c_str()) != 0) {
        const std::error_code ec = errno_code();
        ::unlink(tmp.c_str());
        return ec;
    }
    return fsync_path(dir_, O_RDONLY | O_DIRECTORY);
}

std::error_code StsStore::drop(const std::string& domain) const {
    if (!safe_name(domain)) return std::make_error_code(std::errc::invalid_argument);
    if (::unlink(path(domain).c_str()) != 0)
        return errno == ENOENT ? std::error_code{} : errno_code();
    return fsync_path(dir_, O_RDONLY | O_DIRECTORY);
}

}  // namespace chainmail::mtasts
