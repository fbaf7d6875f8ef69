// dnssec_selfcheck: validates one known signed name (dns.dnssec_check_name,
// default the root ".") through the configured resolver, so that a forwarder
// that strips DNSSEC or a wrong trust anchor is named at start-up instead of
// showing up later as every DANE delivery deferring. Never throws.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "relay/resolve/dns_resolver.hpp"

namespace chainmail::resolve {

struct DnssecSelfCheck {
    enum class State {
        NotRun,    // no check yet
        Ok,        // the DNSKEY set of the name validated as secure
        Failed,    // see reason
        Disabled,  // dns.trust_anchor_file is empty: nothing is validated
    };
    State state = State::NotRun;
    std::string name;      // the name checked, "." for the root
    std::string resolver;  // the servers asked, as configured ("127.0.0.1@53, ...")
    std::string reason;    // for Failed: what happened and the likely cause
    std::chrono::system_clock::time_point checked_at{};
    bool ok() const { return state == State::Ok; }
};
std::string_view to_string(DnssecSelfCheck::State s);

// Asks for the DNSKEY set of dns.dnssec_check_name and judges the answer.
boost::asio::awaitable<DnssecSelfCheck> dnssec_selfcheck(DnsResolver& resolver,
                                                         const config::Dns& dns);
// The same on its own io_context and resolver (check-config --online).
DnssecSelfCheck dnssec_selfcheck_blocking(const config::Dns& dns);

// The latest result, for metrics and probe; published by serve.
void publish(const DnssecSelfCheck& result);
DnssecSelfCheck last_dnssec_selfcheck();

// One log line: info when ok, error naming the resolver and likely cause otherwise.
void log_selfcheck(const DnssecSelfCheck& result);

}  // namespace chainmail::resolve
