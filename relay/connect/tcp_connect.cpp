// tcp_connect: one address after the other, each bounded by a timer that
// cancels the connect when it runs out.
#include "relay/connect/tcp_connect.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace chainmail::connect {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Shared with the timer's handler, which may run after the connect has
// completed (both were ready at once): it then must not touch the socket.
struct Deadline {
    bool fired = false;
    bool done = false;
};

}  // namespace

asio::awaitable<TcpConnected> tcp_connect(asio::ip::tcp::socket& socket,
                                          const std::vector<asio::ip::address>& addresses,
                                          std::uint16_t port, std::chrono::milliseconds timeout) {
    TcpConnected out;
    for (const asio::ip::address& a : addresses) {
        socket = asio::ip::tcp::socket(socket.get_executor());
        auto deadline = std::make_shared<Deadline>();
        asio::steady_timer timer(socket.get_executor());
        timer.expires_after(timeout);
        timer.async_wait([deadline, s = &socket](error_code ec) {
            if (ec || deadline->done) return;
            deadline->fired = true;
            error_code ignored;
            s->cancel(ignored);
        });
        error_code ec;
        co_await socket.async_connect(asio::ip::tcp::endpoint(a, port),
                                      asio::redirect_error(asio::use_awaitable, ec));
        deadline->done = true;
        timer.cancel();
        if (ec) {
            const std::string why = deadline->fired ? "timeout" : ec.message();
            out.failures += (out.failures.empty() ? "" : "; ") + a.to_string() + ": " + why;
            error_code ignored;
            socket.close(ignored);
            continue;
        }
        // A reused connection's last small write must not wait for the peer's
        // delayed ACK (Nagle): that costs ~40 ms per message at low rates.
        error_code nodelay_ec;
        socket.set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
        out.ok = true;
        out.address = a;
        break;
    }
    co_return out;
}

}  // namespace chainmail::connect
