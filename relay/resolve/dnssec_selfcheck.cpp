#include "relay/resolve/dnssec_selfcheck.hpp"
#include "relay/clock/wall_clock.hpp"

#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace chainmail::resolve {

namespace asio = boost::asio;

namespace {

std::mutex g_mutex;
DnssecSelfCheck g_last;

std::string resolver_of(const config::Dns& dns) {
    if (dns.nameservers.empty()) return "the servers in /etc/resolv.conf";
    std::string out;
    for (const auto& ns : dns.nameservers)
        out += (out.empty() ? "" : ", ") + fmt::format("{}@{}", ns.ip, ns.port);
    return out;
}

// The check name as libunbound takes it: "." for the root, else with a final dot.
std::string absolute(const std::string& name) {
    if (name.empty() || name == ".") return ".";
    return name.back() == '.' ? name : name + ".";
}

DnssecSelfCheck start_of(const config::Dns& dns) {
    DnssecSelfCheck r;
    r.name = absolute(dns.dnssec_check_name);
    r.resolver = resolver_of(dns);
    r.checked_at = clock::now();
    return r;
}

}  // namespace

std::string_view to_string(DnssecSelfCheck::State s) {
    switch (s) {
        case DnssecSelfCheck::State::NotRun:
            return "not-run";
        case DnssecSelfCheck::State::Ok:
            return "ok";
        case DnssecSelfCheck::State::Failed:
            return "failed";
        case DnssecSelfCheck::State::Disabled:
            return "disabled";
    }
    return "failed";
}

asio::awaitable<DnssecSelfCheck> dnssec_selfcheck(DnsResolver& resolver, const config::Dns& dns) {
    DnssecSelfCheck r = start_of(dns);
    if (dns.trust_anchor_file.empty()) {
        r.state = DnssecSelfCheck::State::Disabled;
        r.reason = "dns.trust_anchor_file is empty: nothing is validated, DANE never applies";
        co_return r;
    }
    const DnsStatus st = co_await resolver.dnskey(r.name);
    r.checked_at = clock::now();
    const std::string subject = fmt::format("the DNSKEY records of {}", r.name);
    switch (st.state) {
        case DnsState::Secure:
            r.state = DnssecSelfCheck::State::Ok;
            co_return r;
        case DnsState::Bogus:
            r.state = DnssecSelfCheck::State::Failed;
            r.reason = fmt::format(
                "{} did not validate ({}). Likely causes: the resolver {} strips DNSSEC records "
                "(a forwarder without DNSSEC support), or dns.trust_anchor_file {} holds no "
                "anchor that matches {}",
                subject, st.reason, r.resolver, dns.trust_anchor_file, r.name);
            co_return r;
        case DnsState::Insecure:
            r.state = DnssecSelfCheck::State::Failed;
            r.reason = fmt::format(
                "{} came back without DNSSEC proof: either dns.trust_anchor_file {} has no "
                "anchor above {}, or that zone is not signed; set dns.dnssec_check_name to a "
                "signed zone your anchors cover",
                subject, dns.trust_anchor_file, r.name);
            co_return r;
        case DnsState::NotFound:
            r.state = DnssecSelfCheck::State::Failed;
            r.reason = fmt::format(
                "the resolver {} says {} has no DNSKEY records{}: dns.dnssec_check_name must "
                "name a signed zone",
                r.resolver, r.name, st.nxdomain ? " (the name does not exist)" : "");
            co_return r;
        case DnsState::TempFail:
            r.state = DnssecSelfCheck::State::Failed;
            r.reason = fmt::format("the resolver {} gave no usable answer for {}: {}", r.resolver,
                                   subject, st.reason);
            co_return r;
    }
    co_return r;
}

DnssecSelfCheck dnssec_selfcheck_blocking(const config::Dns& dns) {
    DnssecSelfCheck out = start_of(dns);
    try {
        asio::io_context io(1);
        DnsResolver resolver(io.get_executor(), dns);
        asio::co_spawn(io, dnssec_selfcheck(resolver, dns),
                       [&](std::exception_ptr e, DnssecSelfCheck r) {
                           if (!e) out = std::move(r);
                       });
        io.run();
    } catch (const std::exception& e) {
        out.state = DnssecSelfCheck::State::Failed;
        out.reason = e.what();
    }
    return out;
}

void publish(const DnssecSelfCheck& result) {
    std::lock_guard lock(g_mutex);
    g_last = result;
}

DnssecSelfCheck last_dnssec_selfcheck() {
    std::lock_guard lock(g_mutex);
    return g_last;
}

void log_selfcheck(const DnssecSelfCheck& r) {
    switch (r.state) {
        case DnssecSelfCheck::State::Ok:
            spdlog::info("DNSSEC self-check ok: the DNSKEY records of {} validated through {}",
                         r.name, r.resolver);
            return;
        case DnssecSelfCheck::State::Disabled:
            spdlog::warn("DNSSEC self-check skipped: {}", r.reason);
            return;
        case DnssecSelfCheck::State::NotRun:
        case DnssecSelfCheck::State::Failed:
            spdlog::error(
                "DNSSEC self-check failed: {}. Until this is fixed, DANE deliveries "
                "defer and every signed domain looks bogus",
                r.reason);
            return;
    }
}

}  // namespace chainmail::resolve
