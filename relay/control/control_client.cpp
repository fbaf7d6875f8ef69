// control_client: one request over the control socket, with plain POSIX calls.
#include "relay/control/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>
#include <cerrno>
#include <cstring>

namespace chainmail::control {

namespace {

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

ClientError error(ClientError::Kind k, std::string m) {
    return ClientError{k, std::move(m)};
}

}  // namespace

std::variant<Reply, ClientError> call(const std::string& path, const Request& request,
                                      std::chrono::milliseconds timeout) {
    using Kind = ClientError::Kind;
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        return error(Kind::Broken, fmt::format("control socket path {} is too long", path));
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return error(Kind::Broken, fmt::format("socket: {}", std::strerror(errno)));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        switch (errno) {
            case ENOENT:
            case ENOTDIR:
                return error(
                    Kind::NotRunning,
                    fmt::format("chainmail serve is not running (no control socket at {})", path));
            case ECONNREFUSED:
                return error(Kind::NotRunning,
                             fmt::format("chainmail serve is not running (nothing listens on the "
                                         "control socket {})",
                                         path));
            case EACCES:
            case EPERM:
                return error(Kind::Denied,
                             fmt::format("cannot use the control socket {}: permission denied; run "
                                         "this as the user chainmail serve runs as, or as root",
                                         path));
            default:
                return error(Kind::Broken,
                             fmt::format("cannot connect to the control socket {}: {}", path,
                                         std::strerror(errno)));
        }
    }
    const std::string line = encode(request) + "\n";
    for (std::size_t off = 0; off < line.size();) {
        const ssize_t n = ::send(fd.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;  // its refusal may wait
        if (n < 0)
            return error(Kind::Broken,
                         fmt::format("control socket {}: sending: {}", path, std::strerror(errno)));
        off += static_cast<std::size_t>(n);
    }
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto nl = in.find('\n'); nl != std::string::npos) {
            auto reply = decode_reply(std::string_view(in).substr(0, nl));
            if (!reply)
                return error(Kind::Broken,
                             fmt::format("control socket {}: an answer I do not understand", path));
            if (reply->error.rfind("permission denied", 0) == 0)
                return error(Kind::Denied, "chainmail serve refused: " + reply->error);
            return *reply;
        }
        if (in.size() > kMaxLine)
            return error(Kind::Broken, fmt::format("control socket {}: answer too long", path));
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return error(Kind::Broken,
                         fmt::format("chainmail serve did not answer within {} s; the command may "
                                     "still take effect (see `chainmail queue list`)",
                                     timeout.count() / 1000));
        pollfd p{fd.get(), POLLIN, 0};
        const int pr = ::poll(&p, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return error(Kind::Broken,
                         fmt::format("control socket {}: reading: {}", path, std::strerror(errno)));
        if (n == 0)
            return error(Kind::Broken, fmt::format("chainmail serve closed the control connection "
                                                   "without an answer ({})",
                                                   path));
        in.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace chainmail::control
