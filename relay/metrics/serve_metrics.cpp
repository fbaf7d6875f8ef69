// serve_metrics: queue gauges from the spool and the listener's lifetime.
#include "relay/metrics/serve_metrics.hpp"

#include <algorithm>
#include <chrono>

#include "relay/clock/wall_clock.hpp"
#include "relay/metrics/metrics.hpp"

namespace chainmail::metrics {

namespace {

constexpr const char* kQueueCollector = "queue";
// live() copies the queue's envelopes under the spool's lock: a scrape every
// second must not do that every second for a queue of many thousands.
constexpr std::chrono::seconds kQueueEvery{5};

}  // namespace

ServeMetrics::ServeMetrics(boost::asio::any_io_executor ex, const spool::Spool& spool,
                           const config::Config& config, std::string_view version) {
    build_info(version);
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    registry().set_collector(kQueueCollector, [&spool, last] {
        const auto now = std::chrono::steady_clock::now();
        if (*last != std::chrono::steady_clock::time_point{} && now - *last < kQueueEvery) return;
        *last = now;
        const std::int64_t now_ms = clock::now_ms();
        double active = 0, held = 0;
        std::int64_t oldest = now_ms;
        for (const spool::Envelope& e : spool.live()) {
            (e.held ? held : active) += 1;
            if (e.arrival_ms > 0) oldest = std::min(oldest, e.arrival_ms);
        }
        queue_size(active, held,
                   static_cast<double>(std::max<std::int64_t>(0, now_ms - oldest)) / 1000.0);
    });
    if (config.metrics.listen) {
        http_ = std::make_unique<MetricsHttp>(ex, registry());
        try {
            http_->start(*config.metrics.listen);
        } catch (...) {
            registry().set_collector(kQueueCollector, {});
            throw;
        }
    }
}

ServeMetrics::~ServeMetrics() {
    if (http_) http_->stop();
    registry().set_collector(kQueueCollector, {});
}

std::string ServeMetrics::endpoint() const {
    return http_ ? http_->endpoint() : std::string();
}

}  // namespace chainmail::metrics
