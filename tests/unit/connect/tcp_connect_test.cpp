// tcp_connect against loopback: the order of the addresses, a refused
// address, a peer that never completes the handshake (timeout), no address.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <vector>

#include "relay/connect/tcp_connect.hpp"

using namespace chainmail;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

connect::TcpConnected run(tcp::socket& socket, const std::vector<asio::ip::address>& addresses,
                          std::uint16_t port, std::chrono::milliseconds timeout) {
    auto& ctx = static_cast<asio::io_context&>(socket.get_executor().context());
    auto f = asio::co_spawn(ctx, connect::tcp_connect(socket, addresses, port, timeout),
                            asio::use_future);
    ctx.restart();
    ctx.run();
    return f.get();
}

const asio::ip::address kListening = asio::ip::make_address("127.0.0.1");
const asio::ip::address kNobody = asio::ip::make_address("127.0.0.2");  // same port, no listener

}  // namespace

TEST_CASE("tcp_connect takes the first address that accepts, in the order given") {
    asio::io_context ctx;
    tcp::acceptor acceptor(ctx, tcp::endpoint(kListening, 0));
    const std::uint16_t port = acceptor.local_endpoint().port();
    tcp::socket socket(ctx);

    connect::TcpConnected c = run(socket, {kNobody, kListening}, port, 5s);
    REQUIRE(c.ok);
    CHECK(c.address == kListening);
    CHECK(socket.is_open());
    CHECK(socket.remote_endpoint().address() == kListening);
    tcp::no_delay nodelay;
    socket.get_option(nodelay);
    CHECK(nodelay.value());
    CHECK(c.failures.rfind("127.0.0.2: ", 0) == 0);
    CHECK(c.failures.find("timeout") == std::string::npos);
}

TEST_CASE("tcp_connect reports every address that refused, and a closed socket") {
    asio::io_context ctx;
    tcp::acceptor acceptor(ctx, tcp::endpoint(kListening, 0));
    const std::uint16_t port = acceptor.local_endpoint().port();
    tcp::socket socket(ctx);

    const auto nobody2 = asio::ip::make_address("127.0.0.3");
    connect::TcpConnected c = run(socket, {kNobody, nobody2}, port, 5s);
    CHECK_FALSE(c.ok);
    CHECK_FALSE(socket.is_open());
    CHECK(c.failures.rfind("127.0.0.2: ", 0) == 0);
    CHECK(c.failures.find("; 127.0.0.3: ") != std::string::npos);
}

TEST_CASE("tcp_connect gives up on an address after its timeout") {
    // A listener that never accepts, its backlog full: the kernel drops
    // further SYNs, so the next connect neither succeeds nor is refused.
    asio::io_context ctx;
    tcp::acceptor acceptor(ctx, tcp::v4());
    acceptor.bind(tcp::endpoint(kListening, 0));
    acceptor.listen(0);
    const std::uint16_t port = acceptor.local_endpoint().port();
    std::vector<tcp::socket> queued;
    for (int i = 0; i < 8; ++i) {
        tcp::socket s(ctx);
        s.open(tcp::v4());
        s.non_blocking(true);
        // The plain call: Asio's connect() would wait for the handshake.
        const tcp::endpoint to(kListening, port);
        (void)::connect(s.native_handle(), to.data(), to.size());
        queued.push_back(std::move(s));
    }
    tcp::socket socket(ctx);
    const auto start = std::chrono::steady_clock::now();
    connect::TcpConnected c = run(socket, {kListening}, port, 300ms);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK_FALSE(c.ok);
    CHECK(c.failures == "127.0.0.1: timeout");
    CHECK(took >= 300ms);
    CHECK(took < 5s);
}

TEST_CASE("tcp_connect without addresses fails without a failure text") {
    asio::io_context ctx;
    tcp::socket socket(ctx);
    connect::TcpConnected c = run(socket, {}, 25, 1s);
    CHECK_FALSE(c.ok);
    CHECK(c.failures.empty());
}
