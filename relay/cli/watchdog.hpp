// watchdog: when systemd asks for it (WatchdogSec=, which sets WATCHDOG_USEC),
// sends WATCHDOG=1 from the event loop at half the interval; a loop that is
// stuck stops the pings, and systemd kills and restarts the service.
#pragma once

#include <systemd/sd-daemon.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>

namespace chainmail::cli {

class Watchdog {
  public:
    explicit Watchdog(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {
        std::uint64_t usec = 0;
        // sd_watchdog_enabled(3): > 0 when the watchdog is on for this process.
        if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
            interval_ = std::chrono::microseconds(usec / 2);
    }
    bool enabled() const { return interval_.count() > 0; }
    std::chrono::microseconds interval() const { return interval_; }

    void start() {
        if (!enabled()) return;
        sd_notify(0, "WATCHDOG=1");
        timer_.expires_after(interval_);
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) start();
        });
    }
    void stop() { timer_.cancel(); }

  private:
    boost::asio::steady_timer timer_;
    std::chrono::microseconds interval_{0};
};

}  // namespace chainmail::cli
