#include "relay/log/protection_watch.hpp"

#include "relay/clock/wall_clock.hpp"
#include "relay/log/log_time.hpp"

namespace chainmail::log {

std::optional<ProtectionWatch::Flag> ProtectionWatch::observe(const DeliveryEvent& e) {
    std::optional<policy::Protection> p;
    switch (e.event) {
        case Event::Delivered:
        case Event::NdrSent: {
            const auto a = policy::parse_auth(e.tls ? e.tls->auth : "", e.tls.has_value());
            p = policy::protection_of(a.value_or(policy::AuthLabel::None));
            break;
        }
        case Event::Deferred:
        case Event::Bounced:
        case Event::Expired:
        case Event::Held:  // on_tls_failure: hold after a failed attempt
            if (policy::is_tls_failure(e.reason, e.dsn)) p = policy::Protection::Failing;
            break;
        case Event::Received:
        case Event::Deleted:  // an operator's decision, not the partner's protection
            break;
    }
    if (!p) return std::nullopt;
    const std::size_t at = e.rcpt.rfind('@');
    std::string domain = at == std::string::npos ? e.rcpt : e.rcpt.substr(at + 1);
    for (char& c : domain)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const std::int64_t day = day_of(e.ts_ms ? e.ts_ms : clock::now_ms());
    std::lock_guard lock(mu_);
    auto& track = tracks_[{e.partner, domain}];
    if (auto r = track.observe(day, *p)) return Flag{e.partner, std::move(domain), *r};
    return std::nullopt;
}

}  // namespace chainmail::log
