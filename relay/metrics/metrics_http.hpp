// metrics_http: the Prometheus scrape endpoint. HTTP/1.1 by Boost.Beast on
// the serve loop: GET /metrics answers the registry's text; another method
// there gets 405, any other path 404. Each request is bounded in size and
// time, and so is the number of connections open at once.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "relay/metrics/registry.hpp"

namespace chainmail::metrics {

struct HttpOptions {
    std::chrono::milliseconds request_timeout{10'000};  // per request: read it, answer it
    std::size_t max_header_bytes = 8 * 1024;            // request line and headers
    std::size_t max_connections = 16;                   // more are closed at once
    int max_requests_per_connection = 100;              // keep-alive, then close
};

class MetricsHttp {
  public:
    MetricsHttp(boost::asio::any_io_executor ex, Registry& registry, HttpOptions options = {});
    ~MetricsHttp();
    MetricsHttp(const MetricsHttp&) = delete;
    MetricsHttp& operator=(const MetricsHttp&) = delete;

    // Binds and starts accepting; throws std::runtime_error when it cannot listen.
    void start(const config::Endpoint& listen);
    // Closes the listener and every open connection. Idempotent.
    void stop();
    // "127.0.0.1:9125" or "[::1]:9125"; empty before start().
    std::string endpoint() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chainmail::metrics
