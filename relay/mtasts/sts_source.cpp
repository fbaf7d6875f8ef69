#include "relay/mtasts/sts_source.hpp"
#include "relay/clock/wall_clock.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chainmail::mtasts {

namespace asio = boost::asio;
using policy::MtaStsFacts;
using policy::StsAfterFetch;
using policy::StsStep;
using policy::StsTxt;

struct StsSource::Flight {
    explicit Flight(asio::any_io_executor ex) : done(ex) {
        done.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer done;  // cancelled when `result` is set
    std::optional<MtaStsFacts> result;
};

namespace {

std::int64_t now_s() {
    return clock::now_ms() / 1000;
}

std::string describe(const policy::StsCached& c) {
    return "policy id " + c.id + ", mode " + std::string(policy::to_string(c.policy.mode)) +
           ", max_age " + std::to_string(c.policy.max_age);
}

}  // namespace

StsSource::StsSource(asio::any_io_executor ex, resolve::DnsResolver& resolver, StsOptions options)
    : ex_(ex),
      resolver_(resolver),
      options_(std::move(options)),
      fetcher_(options_.ca_file),
      disk_(options_.cache_dir) {}

StsSource::~StsSource() = default;

std::optional<policy::StsCached> StsSource::cached(const std::string& domain) {
    auto it = memory_.find(domain);
    if (it == memory_.end()) it = memory_.emplace(domain, disk_.load(domain)).first;
    return it->second;
}

void StsSource::store(const std::string& domain, const StsAfterFetch& after,
                      const std::string& body) {
    std::error_code ec;
    switch (after.store) {
        case StsAfterFetch::Store::Keep:
            return;
        case StsAfterFetch::Store::Replace:
            memory_[domain] = after.apply;
            ec = disk_.save(domain, *after.apply, body);
            break;
        case StsAfterFetch::Store::Drop:
            memory_[domain] = std::nullopt;
            ec = disk_.drop(domain);
            break;
    }
    // The policy still applies from memory; only a restart would forget it.
    if (ec)
        spdlog::warn("mta-sts: {}: cannot update the cache in {}: {}", domain, disk_.dir(),
                     ec.message());
}

asio::awaitable<MtaStsFacts> StsSource::lookup(std::string domain) {
    if (auto it = flights_.find(domain); it != flights_.end()) {
        // Another destination of this domain is discovering it: share its answer.
        std::shared_ptr<Flight> f = it->second;
        boost::system::error_code ec;
        co_await f->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (f->result) co_return *f->result;
    }
    auto f = std::make_shared<Flight>(ex_);
    flights_[domain] = f;
    MtaStsFacts facts;
    try {
        facts = co_await discover(domain);
    } catch (const std::exception& e) {  // a broken invariant: no policy, and say so
        facts.note = "the MTA-STS policy of " + domain + " could not be determined: " + e.what();
        spdlog::error("mta-sts: {}: {}", domain, e.what());
    }
    f->result = facts;
    f->done.cancel();
    flights_.erase(domain);
    co_return facts;
}

asio::awaitable<MtaStsFacts> StsSource::discover(const std::string& domain) {
    const std::optional<policy::StsCached> cache = cached(domain);
    // RFC 8461 §3.1: the TXT record at _mta-sts.DOMAIN, CNAMEs followed.
    const resolve::TxtAnswer answer = co_await resolver_.txt("_mta-sts." + domain);
    StsTxt txt;
    std::string why_none;
    switch (answer.status.state) {
        case policy::DnsState::Secure:
        case policy::DnsState::Insecure: {
            const policy::StsRecord rec = policy::parse_sts_record(answer.records);
            if (rec.id) {
                txt = {StsTxt::State::Record, *rec.id};
            } else {
                txt.state = StsTxt::State::NoRecord;
                why_none = domain + " publishes no valid MTA-STS record (" + rec.error + ")";
            }
            break;
        }
        case policy::DnsState::NotFound:
            txt.state = StsTxt::State::NoRecord;
            why_none = domain + " publishes no MTA-STS policy";
            break;
        case policy::DnsState::Bogus:
        case policy::DnsState::TempFail:
            txt.state = StsTxt::State::TempFail;
            why_none = "the MTA-STS record of " + domain + " could not be looked up (" +
                       answer.status.reason + ")";
            break;
    }
    const std::int64_t now = now_s();
    switch (policy::sts_step(cache, txt, now)) {
        case StsStep::NoPolicy:
            if (txt.state == StsTxt::State::NoRecord &&
                answer.status.state != policy::DnsState::NotFound)
                spdlog::info("mta-sts: {}: {}; delivering as without MTA-STS", domain, why_none);
            else
                spdlog::debug("mta-sts: {}: {}; delivering as without MTA-STS", domain, why_none);
            co_return policy::sts_facts(std::nullopt, true, why_none);
        case StsStep::UseCache: {
            // Current only when the live record still names this policy (§5.1).
            const bool current = txt.state == StsTxt::State::Record && txt.id == cache->id;
            std::string note = "cached " + describe(*cache);
            if (!current) note += "; " + why_none;
            co_return policy::sts_facts(cache, current, note);
        }
        case StsStep::Fetch:
            break;
    }
    // RFC 8461 §3.3: the policy host is mta-sts.DOMAIN; addresses through our resolver.
    const std::string host = "mta-sts." + domain;
    const resolve::AddrAnswer addrs = co_await resolver_.addresses(host);
    FetchResult fetched;
    if (!addrs.status.ok() || addrs.addresses.empty()) {
        fetched.error = "the address of " + host + " could not be found (" +
                        std::string(policy::to_string(addrs.status.state)) +
                        (addrs.status.reason.empty() ? "" : ": " + addrs.status.reason) + ")";
    } else {
        fetched = co_await fetcher_.fetch(host, addrs.addresses, options_.port, options_.timeout);
    }
    std::optional<policy::StsPolicy> parsed;
    std::string error = fetched.error;
    if (fetched.body) {
        policy::StsParse p = policy::parse_sts_policy(*fetched.body);
        if (p.policy)
            parsed = std::move(p.policy);
        else
            error = "the MTA-STS policy of " + domain + " is invalid: " + p.error;
    }
    const StsAfterFetch after = policy::sts_after_fetch(cache, txt.id, parsed, now);
    store(domain, after, fetched.body ? *fetched.body : std::string());
    if (parsed) {
        if (!after.apply) {
            spdlog::info("mta-sts: {}: policy id {} has mode none: no policy", domain, txt.id);
            co_return policy::sts_facts(std::nullopt, true,
                                        domain + " has withdrawn its MTA-STS policy (mode none)");
        }
        spdlog::info("mta-sts: {}: fetched {}", domain, describe(*after.apply));
        co_return policy::sts_facts(after.apply, true, "fetched " + describe(*after.apply));
    }
    // §3.3: a failed fetch is not a failure of the message: the cached policy or none.
    if (after.apply) {
        spdlog::warn("mta-sts: {}: {}; the cached {} stays in force", domain, error,
                     describe(*after.apply));
        co_return policy::sts_facts(
            after.apply, false, "cached " + describe(*after.apply) + "; refetch failed: " + error);
    }
    spdlog::warn("mta-sts: {}: {}; delivering as without MTA-STS", domain, error);
    MtaStsFacts none = policy::sts_facts(
        std::nullopt, true, "the MTA-STS policy of " + domain + " could not be fetched: " + error);
    none.unusable = fetched.body          ? MtaStsFacts::Unusable::Invalid
                    : fetched.pkix_failed ? MtaStsFacts::Unusable::WebpkiInvalid
                                          : MtaStsFacts::Unusable::FetchError;
    co_return none;
}

}  // namespace chainmail::mtasts
