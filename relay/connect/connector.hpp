// connector: from a destination to the hosts to try, in order, with the DNS
// facts policy decides on (MX, addresses of both families, TLSA per RFC 7672
// §2.2), and a per-host backoff so that a dead host is not hammered.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "policy/dns_facts.hpp"
#include "relay/resolve/dns_resolver.hpp"

namespace chainmail::connect {

// What to resolve: the recipient domain's MX (port delivery.port), a next
// hop's MX ("h:p"), or a next hop's host itself ("[h]:p", no MX lookup).
struct Target {
    std::string domain;  // lower case
    std::uint16_t port = 25;
    bool mx_lookup = true;
};

Target target_for(const config::Partner& partner, std::string_view rcpt_domain,
                  std::uint16_t delivery_port);
Target target_for(const config::NextHop& hop);

// The hosts of one destination. hosts[i] of mx goes with addresses[i].
struct Route {
    policy::MxFacts mx;
    std::vector<std::vector<boost::asio::ip::address>> addresses;
    std::vector<std::string> notes;  // per host: why the address or TLSA lookup failed
};

// An address literal as next hop ("[192.0.2.1]:25"): no lookup; the address
// counts as insecure (there is no DNSSEC-secure name, so no DANE, RFC 7672 §2.2).
bool is_address_literal(std::string_view host);

class Connector {
  public:
    explicit Connector(resolve::DnsResolver& resolver) : resolver_(resolver) {}

    // MX (unless target.mx_lookup is false), then per host A+AAAA and, when
    // `want_tlsa` and policy::dane_applies(), TLSA at _PORT._tcp.HOST. Never
    // throws; failures are DnsStates in the facts (check_destination and
    // requirement_for_host turn them into deferrals, never into bounces).
    boost::asio::awaitable<Route> resolve(const Target& target, bool want_tlsa);

    // Per-host backoff: after a connection failure a host is skipped (while
    // other hosts remain) for a growing time, 30 s doubling up to 10 min.
    using Clock = std::chrono::steady_clock;
    bool backed_off(const std::string& host, std::uint16_t port, Clock::time_point now) const;
    // A dead destination (Postfix's qmgr does the same): a host that failed
    // to connect less than kDeadFor before `now`. A destination's last (or
    // only) host is never backed off, so that each message gets its attempt;
    // but while it has just refused, the destination's other due messages
    // are deferred without a connection of their own.
    static constexpr std::chrono::milliseconds kDeadFor{1000};
    bool just_failed(const std::string& host, std::uint16_t port, Clock::time_point now) const;
    // `now`: when the connection failed.
    void host_failed(const std::string& host, std::uint16_t port, Clock::time_point now);
    void host_ok(const std::string& host, std::uint16_t port);
    // `queue retry`: the operator says a host may work again (as Postfix's
    // flush forgets dead hosts), so every host is tried at once.
    void forget_failures() { backoff_.clear(); }

  private:
    boost::asio::awaitable<policy::TlsaFacts> tlsa_for(const std::string& host,
                                                       const std::string& canonical,
                                                       std::uint16_t port);
    struct Backoff {
        Clock::time_point failed;  // the last failure
        Clock::time_point until;
        std::chrono::seconds step{0};
    };
    resolve::DnsResolver& resolver_;
    std::map<std::string, Backoff> backoff_;  // "host:port"
};

}  // namespace chainmail::connect
