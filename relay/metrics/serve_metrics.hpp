// serve_metrics: what `chainmail serve` adds to the registry: the version, the
// queue gauges (read from the spool when scraped, at most every few seconds)
// and, when metrics.listen is set, the scrape endpoint on the serve loop.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "relay/metrics/metrics_http.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::metrics {

class ServeMetrics {
  public:
    // Throws std::runtime_error when metrics.listen cannot be bound. The spool
    // must outlive this object. A changed metrics.listen needs a restart.
    ServeMetrics(boost::asio::any_io_executor ex, const spool::Spool& spool,
                 const config::Config& config, std::string_view version);
    ~ServeMetrics();
    ServeMetrics(const ServeMetrics&) = delete;
    ServeMetrics& operator=(const ServeMetrics&) = delete;

    // "127.0.0.1:9125", or empty when metrics.listen is not set.
    std::string endpoint() const;

  private:
    std::unique_ptr<MetricsHttp> http_;
};

}  // namespace chainmail::metrics
