// control_server: accept loop, peer credentials, one request per connection.
#include "relay/control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "relay/control/control_protocol.hpp"

namespace chainmail::control {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

// A client must send its request line this soon after connecting.
constexpr auto kRequestTimeout = std::chrono::seconds(10);

// The directory must be ours (or root's) and not writable by anyone else:
// otherwise another user could put their own socket in our place.
void check_directory(const std::filesystem::path& path) {
    const std::string dir = path.string();
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec)
            throw std::runtime_error(
                fmt::format("control socket directory {}: {}", dir, ec.message()));
        ::chmod(dir.c_str(), 0700);
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw std::runtime_error(
            fmt::format("control socket directory {}: {}", dir, std::strerror(errno)));
    if (!S_ISDIR(st.st_mode))
        throw std::runtime_error(fmt::format("control socket directory {}: not a directory", dir));
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
        throw std::runtime_error(fmt::format(
            "control socket directory {} belongs to uid {}, not to this user (uid {}) or root", dir,
            st.st_uid, ::geteuid()));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw std::runtime_error(fmt::format(
            "control socket directory {} is writable by others (mode {:04o}); give "
            "control_socket a directory of its own, e.g. /run/chainmail (mode 0755 or stricter)",
            dir, st.st_mode & 07777));
}

// A socket file left by a serve that crashed is removed; one that answers
// belongs to a running serve, and anything else is not ours to delete.
void clear_stale(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(
            fmt::format("control socket {} exists and is not a socket; not replacing it", path));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof a.sun_path - 1));
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(fd);
    if (rc == 0)
        throw std::runtime_error(
            fmt::format("control socket {} is in use by another chainmail serve", path));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw std::runtime_error(fmt::format("control socket {}: cannot remove the old one: {}",
                                             path, std::strerror(errno)));
}

// A broken invariant inside a command: logged, the relay stays up.
void log_failure(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        spdlog::error("control socket: {}", x.what());
    }
}

}  // namespace

struct ControlServer::State : std::enable_shared_from_this<State> {
    State(asio::any_io_executor e, outbound::Outbound& o) : ex(e), acceptor(e), outbound(o) {}

    asio::any_io_executor ex;
    Local::acceptor acceptor;
    outbound::Outbound& outbound;
    bool stopped = false;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        while (!stopped) {
            boost::system::error_code ec;
            Local::socket sock =
                co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (stopped || ec == asio::error::operation_aborted) co_return;
                spdlog::warn("control socket: accept: {}", ec.message());
                continue;
            }
            asio::co_spawn(ex, serve_one(std::move(sock)), log_failure);
        }
    }

    static asio::awaitable<void> reply(Local::socket& sock, const Reply& r) {
        std::string line = encode(r) + "\n";
        boost::system::error_code ec;  // a client that left does not need its answer
        co_await asio::async_write(sock, asio::buffer(line),
                                   asio::redirect_error(asio::use_awaitable, ec));
    }

    asio::awaitable<void> serve_one(Local::socket sock) {
        auto self = shared_from_this();
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            spdlog::warn("control socket: cannot read the peer's credentials: {}",
                         std::strerror(errno));
            co_return;
        }
        if (cred.uid != ::geteuid() && cred.uid != 0) {
            spdlog::warn(
                "control socket: refused uid {} (pid {}): only uid {} and root may "
                "control this serve",
                cred.uid, cred.pid, ::geteuid());
            // Named, not a temporary: g++ 12 destroys a temporary argument of a
            // co_await call twice.
            const Reply refused{{},
                                fmt::format("permission denied: uid {} may not control "
                                            "this chainmail serve (only uid {} and root)",
                                            cred.uid, ::geteuid())};
            co_await reply(sock, refused);
            co_return;
        }
        asio::steady_timer deadline(ex);
        deadline.expires_after(kRequestTimeout);
        deadline.async_wait([&sock](boost::system::error_code ec) {
            if (!ec) sock.close();
        });
        std::string buf;
        boost::system::error_code ec;
        const std::size_t n =
            co_await asio::async_read_until(sock, asio::dynamic_buffer(buf, kMaxLine), '\n',
                                            asio::redirect_error(asio::use_awaitable, ec));
        deadline.cancel();
        if (ec) {
            if (ec != asio::error::eof && ec != asio::error::operation_aborted)
                spdlog::warn("control socket: reading a request: {}", ec.message());
            co_return;
        }
        auto req = decode_request(std::string_view(buf).substr(0, n - 1));
        if (auto* bad = std::get_if<std::string>(&req)) {
            const Reply refused{{}, "bad request: " + *bad};
            co_await reply(sock, refused);
            co_return;
        }
        const Request& r = std::get<Request>(req);
        spdlog::info("control socket: queue {}{} {} (uid {}, pid {})",
                     outbound::to_string(r.action), r.all ? " --all" : "",
                     fmt::format("{} id(s)", r.ids.size()), cred.uid, cred.pid);
        Reply out;
        out.results = co_await outbound.act(r.action, r.ids, r.all);
        co_await reply(sock, out);
    }
};

ControlServer::ControlServer(asio::any_io_executor ex, std::string path,
                             outbound::Outbound& outbound)
    : path_(std::move(path)), state_(std::make_shared<State>(ex, outbound)) {}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::start() {
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    check_directory(parent.empty() ? std::filesystem::path(".") : parent);
    clear_stale(path_);
    boost::system::error_code ec;
    Local::acceptor& a = state_->acceptor;
    Local::endpoint ep(path_);
    a.open(ep.protocol(), ec);
    if (!ec) a.bind(ep, ec);
    if (ec) throw std::runtime_error(fmt::format("control socket {}: {}", path_, ec.message()));
    // Owner only; the peer credentials are checked as well (SO_PEERCRED).
    if (::chmod(path_.c_str(), 0600) != 0) {
        const int e = errno;
        a.close(ec);
        ::unlink(path_.c_str());
        throw std::runtime_error(
            fmt::format("control socket {}: chmod: {}", path_, std::strerror(e)));
    }
    a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        a.close(ec);
        ::unlink(path_.c_str());
        throw std::runtime_error(fmt::format("control socket {}: {}", path_, ec.message()));
    }
    asio::co_spawn(state_->ex, state_->accept_loop(), log_failure);
}

void ControlServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    if (state_->acceptor.is_open()) {
        boost::system::error_code ec;
        state_->acceptor.close(ec);
        ::unlink(path_.c_str());
    }
}

}  // namespace chainmail::control
