// protection_watch: `chainmail report`'s regression rule, live. Fed each
// delivery-log event as serve writes it (DeliveryLog::set_observer), it says
// when a partner's protection to a domain got weaker: the metrics counter's source.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "policy/protection.hpp"
#include "relay/log/delivery_log.hpp"

namespace chainmail::log {

class ProtectionWatch {
  public:
    struct Flag {
        std::string partner, domain;
        policy::Regression regression;
    };
    // A regression the first time a (partner, domain) goes below what held on
    // earlier days (the rule of policy::find_regressions); thread-safe.
    std::optional<Flag> observe(const DeliveryEvent& e);

  private:
    std::mutex mu_;
    std::map<std::pair<std::string, std::string>, policy::ProtectionTrack> tracks_;
};

}  // namespace chainmail::log
