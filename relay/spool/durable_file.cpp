// durable_file: the temp → fsync → rename → fsync-directory write, once.
#include "relay/spool/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "relay/spool/spool_journal.hpp"

namespace chainmail::spool {
namespace {

std::error_code errno_code() {
    return {errno, std::generic_category()};
}

}  // namespace

std::error_code write_durably(const std::string& dir, const std::string& name,
                              std::string_view text) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_code();
    const std::string tmp = dir + "/." + name + ".tmp";
    journal::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return errno_code();
    std::error_code ec = journal::write_all(fd.get(), 0, {{text.data(), text.size()}});
    if (!ec && ::fsync(fd.get()) != 0) ec = errno_code();
    // The data is on disk before the name points at it: rename(2) then
    // swaps old for new in one step, and the directory sync keeps the swap.
    if (!ec && ::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) ec = errno_code();
    if (ec) {
        ::unlink(tmp.c_str());
        return ec;
    }
    return journal::fsync_dir(dir);
}

std::error_code remove_durably(const std::string& dir, const std::string& name) {
    if (::unlink((dir + "/" + name).c_str()) != 0)
        return errno == ENOENT ? std::error_code{} : errno_code();
    return journal::fsync_dir(dir);
}

}  // namespace chainmail::spool
