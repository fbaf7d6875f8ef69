// dns_resolver: asynchronous, DNSSEC-validating lookups on libunbound, driven
// by the Asio loop (ub_fd readable -> ub_process). Every answer carries its
// DNSSEC state; no lookup outlives its timeout (then TempFail); none throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>  // std::exchange, which Boost 1.74's awaitable.hpp uses unincluded

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "relay/resolve/dns_answer.hpp"
#include "relay/resolve/dns_rdata.hpp"

namespace chainmail::resolve {

struct ResolverOptions {
    std::chrono::milliseconds timeout = std::chrono::seconds(10);  // per lookup
    RandomSource random;  // shuffles equal MX preferences; empty: seeded from random_device
};

// One libunbound context with its cache. libunbound answers from one worker
// thread of its own (ub_ctx_async threaded mode: a forked worker would
// inherit the relay's listening sockets and files); queries are multiplexed
// over its pipe, so there is no thread per query. Use a DnsResolver from the
// thread that runs its executor only. Answers in flight when it is destroyed
// are dropped; their coroutines still complete (TempFail) if resumed.
class DnsResolver {
  public:
    // Forwarders from dns.nameservers ("IP" or "IP@PORT"), else
    // /etc/resolv.conf; anchors from dns.trust_anchor_file (DS or DNSKEY
    // records in zone-file format, any number of zones; "" = no validation,
    // every answer Insecure). Throws std::runtime_error on a bad setting.
    DnsResolver(boost::asio::any_io_executor ex, const config::Dns& dns,
                ResolverOptions options = {});
    ~DnsResolver();
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // MX of a domain, ordered (see MxAnswer). NotFound = no MX records.
    boost::asio::awaitable<MxAnswer> mx(std::string domain);
    // A and AAAA of a host, asked concurrently (see AddrAnswer).
    boost::asio::awaitable<AddrAnswer> addresses(std::string host);
    // TLSA at _PORT._tcp.HOST (RFC 7672 §2.2; see to_tlsa_facts for the base name).
    boost::asio::awaitable<TlsaAnswer> tlsa(std::string host, std::uint16_t port);
    // The DNSKEY set of a zone apex: only its DNSSEC state (the self-check).
    boost::asio::awaitable<DnsStatus> dnskey(std::string zone);
    // TXT records at a name, CNAMEs followed (RFC 8461 §3.1 for `_mta-sts`).
    boost::asio::awaitable<TxtAnswer> txt(std::string name);

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace chainmail::resolve
