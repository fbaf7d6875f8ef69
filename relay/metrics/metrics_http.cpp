// metrics_http: accept loop and one coroutine per scrape connection.
#include "relay/metrics/metrics_http.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <unordered_set>

namespace chainmail::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string endpoint_text(const tcp::endpoint& ep) {
    const std::string a = ep.address().to_string();
    const std::string p = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + a + "]:" + p : a + ":" + p;
}

// The exposition format's media type (text format 0.0.4).
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

http::response<http::string_body> answer(const http::request<http::empty_body>& req,
                                         Registry& registry) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "chainmail");
    const beast::string_view target = req.target();
    const beast::string_view path = target.substr(0, target.find('?'));
    if (path != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "Not found: the metrics are at /metrics\n";
    } else if (req.method() != http::verb::get) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "Only GET\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, kContentType);
        res.body() = registry.render();
    }
    res.prepare_payload();
    return res;
}

}  // namespace

struct MetricsHttp::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor e, Registry& r, HttpOptions o)
        : ex(e), registry(r), options(o), acceptor(e) {}

    asio::any_io_executor ex;
    Registry& registry;
    HttpOptions options;
    tcp::acceptor acceptor;
    std::unordered_set<beast::tcp_stream*> open;
    bool stopped = false;

    void accept() {
        acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket s) {
            if (self->stopped || ec == asio::error::operation_aborted) return;
            if (ec) {
                spdlog::warn("metrics: accept failed: {}", ec.message());
            } else if (self->open.size() >= self->options.max_connections) {
                error_code ignored;
                s.close(ignored);  // a scraper retries; the loop stays bounded
            } else {
                asio::co_spawn(self->ex, self->session(std::move(s)), [](std::exception_ptr e) {
                    if (!e) return;
                    try {  // a broken invariant of ours: log it, keep serving
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        spdlog::error("metrics: {}", x.what());
                    }
                });
            }
            self->accept();
        });
    }

    asio::awaitable<void> session(tcp::socket socket) {
        auto self = shared_from_this();
        beast::tcp_stream stream(std::move(socket));
        open.insert(&stream);
        beast::flat_buffer buffer(options.max_header_bytes);
        error_code ec;
        for (int n = 0; n < options.max_requests_per_connection && !stopped; ++n) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
            parser.body_limit(0);  // a GET has no body
            stream.expires_after(options.request_timeout);
            co_await http::async_read(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                // A malformed or oversized request gets a plain 400; a
                // timeout, a closed connection or our stop() just ends it.
                if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                    ec != asio::error::operation_aborted && !stopped) {
                    http::response<http::string_body> bad{http::status::bad_request, 11};
                    bad.set(http::field::content_type, "text/plain; charset=utf-8");
                    bad.body() = "Bad request\n";
                    bad.keep_alive(false);
                    bad.prepare_payload();
                    co_await http::async_write(stream, bad,
                                               asio::redirect_error(asio::use_awaitable, ec));
                }
                break;
            }
            auto res = answer(parser.get(), registry);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !res.keep_alive()) break;
        }
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream.close();
        open.erase(&stream);
    }
};

MetricsHttp::MetricsHttp(asio::any_io_executor ex, Registry& registry, HttpOptions options)
    : impl_(std::make_shared<Impl>(ex, registry, options)) {}

MetricsHttp::~MetricsHttp() {
    stop();
}

void MetricsHttp::start(const config::Endpoint& listen) {
    error_code ec;
    const auto addr = asio::ip::make_address(listen.host, ec);
    if (ec) throw std::runtime_error("metrics.listen address " + listen.host + ": " + ec.message());
    const tcp::endpoint ep(addr, listen.port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    if (addr.is_v6()) a.set_option(asio::ip::v6_only(true));
    a.bind(ep, ec);
    if (ec)
        throw std::runtime_error("metrics.listen: cannot listen on " + endpoint_text(ep) + ": " +
                                 ec.message());
    a.listen(asio::socket_base::max_listen_connections);
    impl_->accept();
}

void MetricsHttp::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    error_code ec;
    impl_->acceptor.close(ec);
    for (beast::tcp_stream* s : impl_->open) s->cancel();
}

std::string MetricsHttp::endpoint() const {
    error_code ec;
    const auto ep = impl_->acceptor.local_endpoint(ec);
    return ec ? std::string() : endpoint_text(ep);
}

}  // namespace chainmail::metrics
