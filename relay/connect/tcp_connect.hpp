// tcp_connect: the TCP connect of one outbound session. Tries the addresses
// in the order given, each within its own timeout; the socket comes back
// connected (TCP_NODELAY set) or closed, with every failure as a value.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chainmail::connect {

struct TcpConnected {
    bool ok = false;
    boost::asio::ip::address address;  // the address that accepted (when ok)
    // One "ADDRESS: why" per address that did not accept, joined by "; ";
    // "why" is "timeout" when the timeout ran out.
    std::string failures;
};

// `socket` is replaced by a fresh one per address; the caller owns it and
// keeps it alive until the coroutine has returned. Never throws for what a
// peer or the network can cause.
boost::asio::awaitable<TcpConnected> tcp_connect(
    boost::asio::ip::tcp::socket& socket, const std::vector<boost::asio::ip::address>& addresses,
    std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace chainmail::connect
