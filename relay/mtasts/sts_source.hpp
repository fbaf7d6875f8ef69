// sts_source: the MTA-STS policy that applies to a recipient domain now
// (RFC 8461 §5.1): the `_mta-sts` TXT record through the resolver, a fetch
// when policy::sts_step() asks for one, the cache in memory and on disk.
// Lookups for one domain share one fetch; other domains never wait for it.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "policy/dns_facts.hpp"
#include "policy/mta_sts.hpp"
#include "relay/mtasts/sts_fetch.hpp"
#include "relay/mtasts/sts_store.hpp"
#include "relay/resolve/dns_resolver.hpp"

namespace chainmail::mtasts {

struct StsOptions {
    std::string ca_file;    // tls.ca_file: PKIX for the policy host
    std::string cache_dir;  // SPOOL/mta-sts
    std::uint16_t port = 443;
    std::chrono::milliseconds timeout = std::chrono::seconds(30);  // per fetch
};

// Use from the thread that runs `ex` only (like DnsResolver).
class StsSource {
  public:
    // Throws at start-up when ca_file cannot be loaded.
    StsSource(boost::asio::any_io_executor ex, resolve::DnsResolver& resolver, StsOptions options);
    ~StsSource();
    StsSource(const StsSource&) = delete;
    StsSource& operator=(const StsSource&) = delete;

    // The facts for `domain` (lower case). Never throws; a failure of any step
    // is "no policy" (or the cached one) with a note saying why (RFC 8461 §3.3).
    boost::asio::awaitable<policy::MtaStsFacts> lookup(std::string domain);

    struct Flight;

  private:
    boost::asio::awaitable<policy::MtaStsFacts> discover(const std::string& domain);
    std::optional<policy::StsCached> cached(const std::string& domain);
    void store(const std::string& domain, const policy::StsAfterFetch& after,
               const std::string& body);

    boost::asio::any_io_executor ex_;
    resolve::DnsResolver& resolver_;
    StsOptions options_;
    StsFetcher fetcher_;
    StsStore disk_;
    std::map<std::string, std::optional<policy::StsCached>> memory_;  // loaded from disk once
    std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace chainmail::mtasts
