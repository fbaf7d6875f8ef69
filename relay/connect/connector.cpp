// connector: MX order, addresses and TLSA per host, per-host backoff.
#include "relay/connect/connector.hpp"

#include <algorithm>

#include "policy/partner_match.hpp"

namespace chainmail::connect {

namespace asio = boost::asio;
using policy::DnsState;

Target target_for(const config::Partner& partner, std::string_view rcpt_domain,
                  std::uint16_t delivery_port) {
    if (partner.next_hop) return target_for(*partner.next_hop);
    return {policy::normalize_domain(rcpt_domain), delivery_port, true};
}

Target target_for(const config::NextHop& hop) {
    return {policy::normalize_domain(hop.host), hop.port, hop.mx_lookup};
}

bool is_address_literal(std::string_view host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(std::string(host), ec);
    return !ec;
}

asio::awaitable<policy::TlsaFacts> Connector::tlsa_for(const std::string& host,
                                                       const std::string& canonical,
                                                       std::uint16_t port) {
    // RFC 7672 §2.2.2: with a secure CNAME chain, TLSA at the expanded name
    // first; when that is securely absent, at the original name.
    if (!canonical.empty() && canonical != host) {
        resolve::TlsaAnswer a = co_await resolver_.tlsa(canonical, port);
        policy::TlsaFacts f = resolve::to_tlsa_facts(a);
        if (f.state != policy::TlsaState::SecureNoRecords) co_return f;
    }
    resolve::TlsaAnswer a = co_await resolver_.tlsa(host, port);
    co_return resolve::to_tlsa_facts(a);
}

asio::awaitable<Route> Connector::resolve(const Target& target, bool want_tlsa) {
    Route route;
    policy::MxFacts& mx = route.mx;
    mx.domain = target.domain;
    if (!target.mx_lookup) {
        mx.source = policy::HostSource::NextHop;
        mx.state = DnsState::Secure;  // the name comes from the configuration
        mx.hosts.push_back({target.domain, 0, target.port, DnsState::Secure, {}});
    } else {
        resolve::MxAnswer a = co_await resolver_.mx(target.domain);
        mx.state = a.status.state;
        mx.null_mx = a.null_mx;
        if (a.status.ok()) {
            mx.source = policy::HostSource::Mx;
            for (const resolve::MxHost& h : a.hosts)
                mx.hosts.push_back({h.host, h.preference, target.port, DnsState::Secure, {}});
        } else if (a.status.state == DnsState::NotFound && !a.status.nxdomain) {
            // RFC 5321 §5.1: no MX records: the domain itself is the host.
            mx.source = policy::HostSource::Implicit;
            mx.hosts.push_back({target.domain, 0, target.port, DnsState::Secure, {}});
        }
    }
    for (policy::HostFacts& h : mx.hosts) {
        std::vector<asio::ip::address> addrs;
        std::string note;
        if (is_address_literal(h.name)) {
            addrs.push_back(asio::ip::make_address(h.name));
            h.address = DnsState::Insecure;
        } else {
            resolve::AddrAnswer a = co_await resolver_.addresses(h.name);
            h.address = a.status.state;
            addrs = a.addresses;
            note = a.status.reason;
            if (want_tlsa && policy::dane_applies(mx, h)) {
                h.tlsa = co_await tlsa_for(h.name, a.status.canonical_name, h.port);
            }
        }
        route.addresses.push_back(std::move(addrs));
        route.notes.push_back(std::move(note));
    }
    co_return route;
}

bool Connector::backed_off(const std::string& host, std::uint16_t port,
                           Clock::time_point now) const {
    auto it = backoff_.find(host + ":" + std::to_string(port));
    return it != backoff_.end() && now < it->second.until;
}

bool Connector::just_failed(const std::string& host, std::uint16_t port,
                            Clock::time_point now) const {
    auto it = backoff_.find(host + ":" + std::to_string(port));
    return it != backoff_.end() && now >= it->second.failed && now < it->second.failed + kDeadFor;
}

void Connector::host_failed(const std::string& host, std::uint16_t port, Clock::time_point now) {
    Backoff& b = backoff_[host + ":" + std::to_string(port)];
    b.failed = now;
    b.step = b.step.count() == 0
                 ? std::chrono::seconds(30)
                 : std::min<std::chrono::seconds>(b.step * 2, std::chrono::minutes(10));
    b.until = now + b.step;
}

void Connector::host_ok(const std::string& host, std::uint16_t port) {
    backoff_.erase(host + ":" + std::to_string(port));
}

}  // namespace chainmail::connect
