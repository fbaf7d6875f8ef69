// The scrape endpoint over real loopback sockets: GET /metrics only, and every
// request bounded in size and time.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>

#include "relay/metrics/metrics_http.hpp"

using namespace chainmail::metrics;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A server on 127.0.0.1 (a free port) with its loop on a thread of its own.
struct Endpoint {
    explicit Endpoint(HttpOptions o = {}) : http(io.get_executor(), registry, o) {
        registry.counter("chainmail_probe", "A probe.", {}).with({}).inc(7);
        http.start({"127.0.0.1", 0});
        port = static_cast<std::uint16_t>(std::stoi(http.endpoint().substr(10)));
        loop = std::thread([this] { io.run(); });
    }
    ~Endpoint() {
        asio::post(io, [this] { http.stop(); });
        loop.join();
    }

    // Connects; reads time out after 5 s so that a broken server fails the test.
    tcp::socket connect() {
        tcp::socket s(client_io);
        s.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{5, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return s;
    }

    // Sends `request` and reads until the server closes.
    std::string exchange(const std::string& request) {
        tcp::socket s = connect();
        asio::write(s, asio::buffer(request));
        return read_all(s);
    }

    static std::string read_all(tcp::socket& s) {
        std::string out;
        boost::system::error_code ec;
        char buf[4096];
        for (;;) {
            std::size_t n = s.read_some(asio::buffer(buf), ec);
            out.append(buf, n);
            if (ec) break;
        }
        return out;
    }

    asio::io_context io;
    asio::io_context client_io;
    Registry registry;
    MetricsHttp http;
    std::uint16_t port = 0;
    std::thread loop;
};

const char* kGet = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

}  // namespace

TEST_CASE("GET /metrics answers the registry as Prometheus text 0.0.4") {
    Endpoint e;
    const std::string r = e.exchange(kGet);
    CHECK_THAT(r, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK_THAT(r, Catch::Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    CHECK_THAT(r, Catch::Contains("\r\n\r\n# HELP chainmail_probe A probe.\n"));
    CHECK_THAT(r, Catch::EndsWith("chainmail_probe_total 7\n"));
}

TEST_CASE("another path is 404, another method on /metrics is 405") {
    Endpoint e;
    CHECK_THAT(e.exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
               Catch::StartsWith("HTTP/1.1 404 Not Found\r\n"));
    CHECK_THAT(e.exchange("GET /metricsx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
               Catch::StartsWith("HTTP/1.1 404"));
    const std::string post = e.exchange(
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK_THAT(post, Catch::StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK_THAT(post, Catch::Contains("Allow: GET\r\n"));
}

TEST_CASE("keep-alive: several scrapes over one connection") {
    Endpoint e;
    const std::string r = e.exchange(
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::size_t n = 0;
    for (std::size_t at = 0; (at = r.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at) ++n;
    CHECK(n == 2);
}

TEST_CASE("a request larger than the header limit is refused and closed") {
    HttpOptions o;
    o.max_header_bytes = 1024;
    Endpoint e(o);
    const std::string big = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a') +
                            "\r\nConnection: close\r\n\r\n";
    const std::string r = e.exchange(big);
    CHECK_THAT(r, Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    CHECK_THAT(r, !Catch::Contains("chainmail_probe"));
}

TEST_CASE("a request with a body or garbage is refused") {
    Endpoint e;
    CHECK_THAT(e.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
               Catch::StartsWith("HTTP/1.1 400"));
    CHECK_THAT(e.exchange("HELO there\r\n\r\n"), Catch::StartsWith("HTTP/1.1 400"));
}

TEST_CASE("a client that sends nothing is closed after the request timeout") {
    HttpOptions o;
    o.request_timeout = std::chrono::milliseconds(300);
    Endpoint e(o);
    tcp::socket s = e.connect();
    const auto t0 = std::chrono::steady_clock::now();
    const std::string r = Endpoint::read_all(s);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(r.empty());
    CHECK(waited >= std::chrono::milliseconds(250));
    CHECK(waited < std::chrono::seconds(4));
}

TEST_CASE("past max_connections a new connection is closed at once") {
    HttpOptions o;
    o.max_connections = 1;
    Endpoint e(o);
    tcp::socket first = e.connect();
    asio::write(first, asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first is being read
    CHECK(e.exchange(kGet).empty());
    asio::write(first, asio::buffer(std::string("Connection: close\r\n\r\n")));
    CHECK_THAT(Endpoint::read_all(first), Catch::StartsWith("HTTP/1.1 200 OK"));
}
