#include "relay/resolve/dns_resolver.hpp"

#include <random>
#include <span>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/metrics/metrics.hpp"
#include "relay/resolve/unbound_ptr.hpp"

namespace chainmail::resolve {

namespace asio = boost::asio;

namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeDnskey = 48;
constexpr int kTypeTlsa = 52;
constexpr int kRcodeNxdomain = 3;

// Special-use zones that go to the configured servers (see the constructor).
constexpr const char* kResolverZones[] = {"test.", "home.arpa."};

}  // namespace

struct DnsResolver::Impl : std::enable_shared_from_this<Impl> {
    asio::any_io_executor ex;
    UbCtxPtr ctx;
    asio::posix::stream_descriptor fd;  // libunbound's answer pipe, borrowed
    ResolverOptions options;
    int in_flight = 0;
    bool waiting = false;

    Impl(asio::any_io_executor e, UbCtxPtr c, ResolverOptions o)
        : ex(e), ctx(std::move(c)), fd(e), options(std::move(o)) {}
    ~Impl() { close(); }

    void close() {
        // The descriptor belongs to libunbound: release, never close, it.
        if (fd.is_open()) fd.release();
    }

    // Keeps one wait on ub_fd armed while any query is in flight.
    void pump() {
        if (waiting || in_flight == 0 || !fd.is_open()) return;
        waiting = true;
        fd.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                          self->waiting = false;
                          if (ec) {
                              // Cancelled when the last query timed out; a query
                              // started since then needs the wait again.
                              self->pump();
                              return;
                          }
                          // Runs the callbacks of every answer that has arrived.
                          ub_process(self->ctx.get());
                          self->pump();
                      });
    }
};

namespace {

// One outstanding libunbound query. Lives on the heap so that the pointer
// given to libunbound stays valid; cancelled if dropped before its answer.
struct Query {
    std::shared_ptr<DnsResolver::Impl> impl;
    std::string name;
    asio::steady_timer timer;
    int async_id = 0;
    bool in_flight = false;
    bool done = false;
    bool timed_out = false;
    int err = 0;
    UbResultPtr result;

    Query(std::shared_ptr<DnsResolver::Impl> i, std::string n)
        : impl(std::move(i)), name(std::move(n)), timer(impl->ex) {}
    ~Query() { cancel(); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    void cancel() {
        if (!in_flight) return;
        in_flight = false;
        // Nothing left to wait for: do not keep the loop busy with ub_fd.
        if (--impl->in_flight == 0 && impl->fd.is_open()) impl->fd.cancel();
        // After ub_cancel the callback is never called; a late answer is dropped.
        ub_cancel(impl->ctx.get(), async_id);
    }
};

void on_answer(void* arg, int err, ub_result* result) {
    auto* q = static_cast<Query*>(arg);
    q->result.reset(result);
    q->err = err;
    q->done = true;
    if (q->in_flight) {
        q->in_flight = false;
        --q->impl->in_flight;
    }
    q->timer.cancel();
}

std::unique_ptr<Query> start(const std::shared_ptr<DnsResolver::Impl>& impl, std::string name,
                             int type) {
    auto q = std::make_unique<Query>(impl, std::move(name));
    q->timer.expires_after(impl->options.timeout);
    q->in_flight = true;
    ++impl->in_flight;
    const int rc = ub_resolve_async(impl->ctx.get(), q->name.c_str(), type, kClassIn, q.get(),
                                    on_answer, &q->async_id);
    if (rc != 0) {
        q->in_flight = false;
        --impl->in_flight;
        q->done = true;
        q->err = rc;
        return q;
    }
    impl->pump();
    return q;
}

asio::awaitable<void> finish(Query& q) {
    // The answer may have come while another query was awaited.
    if (!q.done) {
        boost::system::error_code ec;
        co_await q.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!q.done) {
        q.cancel();
        q.timed_out = true;
        q.done = true;
    }
}

DnsStatus status_of(const Query& q, std::chrono::milliseconds timeout) {
    DnsStatus s;
    s.canonical_name = normalize_name(q.name);
    if (q.timed_out) {
        s.state = DnsState::TempFail;
        s.reason = fmt::format("no answer within {} ms", timeout.count());
        return s;
    }
    if (q.err != 0 || !q.result) {
        s.state = DnsState::TempFail;
        s.reason = fmt::format("resolver error: {}", ub_strerror(q.err));
        return s;
    }
    const ub_result& r = *q.result;
    if (r.canonname) s.canonical_name = normalize_name(r.canonname);
    // Bogus first: libunbound reports a failed validation as SERVFAIL too.
    if (r.bogus) {
        s.state = DnsState::Bogus;
        s.reason = r.why_bogus ? r.why_bogus : "DNSSEC validation failed";
        return s;
    }
    s.secure = r.secure != 0;
    if (r.rcode == kRcodeNxdomain || (r.rcode == 0 && !r.havedata)) {
        s.state = DnsState::NotFound;
        s.nxdomain = r.rcode == kRcodeNxdomain;
        return s;
    }
    if (r.rcode != 0) {
        // SERVFAIL, REFUSED and the rest: a server problem, never an answer.
        s.state = DnsState::TempFail;
        s.secure = false;
        s.reason = fmt::format("DNS server answered rcode {}", r.rcode);
        return s;
    }
    s.state = s.secure ? DnsState::Secure : DnsState::Insecure;
    return s;
}

void counted(metrics::DnsType type, const DnsStatus& s) {
    metrics::dns_lookup(type, s.state, s.secure);
}

// The rdata items of an answer that has data.
std::vector<std::span<const std::uint8_t>> rdata_of(const Query& q) {
    std::vector<std::span<const std::uint8_t>> out;
    if (!q.result || !q.result->havedata) return out;
    for (int i = 0; q.result->data[i] != nullptr; ++i) {
        out.emplace_back(reinterpret_cast<const std::uint8_t*>(q.result->data[i]),
                         static_cast<std::size_t>(q.result->len[i]));
    }
    return out;
}

}  // namespace

DnsResolver::DnsResolver(asio::any_io_executor ex, const config::Dns& dns,
                         ResolverOptions options) {
    UbCtxPtr ctx(ub_ctx_create());
    if (!ctx) throw std::runtime_error("libunbound: cannot create a context");
    auto check = [](int rc, const std::string& what) {
        if (rc != 0) throw std::runtime_error(fmt::format("{}: {}", what, ub_strerror(rc)));
    };
    // One worker thread for all queries, answers over the pipe behind ub_fd.
    check(ub_ctx_async(ctx.get(), 1), "libunbound: async mode");
    if (dns.nameservers.empty()) {
        check(ub_ctx_resolvconf(ctx.get(), nullptr), "dns: reading /etc/resolv.conf");
    }
    for (const auto& ns : dns.nameservers) {
        const std::string addr = fmt::format("{}@{}", ns.ip, ns.port);
        check(ub_ctx_set_fwd(ctx.get(), addr.c_str()), "dns.nameservers: " + addr);
    }
    if (!dns.trust_anchor_file.empty()) {
        check(ub_ctx_add_ta_file(ctx.get(), dns.trust_anchor_file.c_str()),
              "dns.trust_anchor_file " + dns.trust_anchor_file);
    }
    // libunbound answers some special-use names from built-in local zones
    // before it asks anyone. A resolver library must not do that for two of
    // them: RFC 6761 §6.2 (test.) and RFC 8375 §3 (home.arpa.) ask libraries
    // to send such names to their configured servers, where staging and home
    // networks serve them. The rest stay answered locally on purpose:
    // localhost. (RFC 6761 §6.3: always loopback), invalid. (§6.4: always
    // NXDOMAIN), onion. (RFC 7686 §2: never through DNS), and the AS112
    // reverse zones (chainmail does no PTR lookups). local. has no built-in
    // zone: it already goes to the configured servers (RFC 6762 Appendix G).
    for (const char* zone : kResolverZones) {
        check(ub_ctx_set_option(ctx.get(),
                                "local-zone:", fmt::format("{} transparent", zone).c_str()),
              fmt::format("libunbound: local-zone {}", zone));
    }
    // libunbound reads its settings (the anchor file among them) at the first
    // lookup. Make that a local one ("localhost." is answered from unbound's
    // built-in local zones, no packet leaves) so a bad file fails start-up
    // instead of failing every lookup later.
    ub_result* probe = nullptr;
    check(ub_resolve(ctx.get(), "localhost.", kTypeA, kClassIn, &probe),
          "dns: resolver set-up (trust_anchor_file " + dns.trust_anchor_file + ")");
    UbResultPtr probe_owner(probe);
    if (!options.random) {
        options.random = [gen = std::make_shared<std::mt19937_64>(std::random_device{}())] {
            return (*gen)();
        };
    }
    const int fd = ub_fd(ctx.get());
    if (fd < 0) throw std::runtime_error("libunbound: no descriptor");
    impl_ = std::make_shared<Impl>(ex, std::move(ctx), std::move(options));
    impl_->fd.assign(fd);
}

DnsResolver::~DnsResolver() {
    impl_->close();
}

// Each coroutine holds the Impl itself: the DnsResolver may be gone when it resumes.
asio::awaitable<MxAnswer> DnsResolver::mx(std::string domain) {
    const auto impl = impl_;
    auto q = start(impl, std::move(domain), kTypeMx);
    co_await finish(*q);
    MxAnswer a;
    a.status = status_of(*q, impl->options.timeout);
    counted(metrics::DnsType::Mx, a.status);
    if (!a.status.ok()) co_return a;
    for (auto rd : rdata_of(*q)) {
        // A malformed record cannot come from a validating resolver; skip it.
        if (auto mx = parse_mx(rd)) a.hosts.push_back(std::move(*mx));
    }
    if (is_null_mx(a.hosts)) {
        a.null_mx = true;
        a.hosts.clear();
        co_return a;
    }
    // RFC 7505 §4.3: a "." exchange beside real ones is not a host to try.
    std::erase_if(a.hosts, [](const MxHost& h) { return h.host.empty(); });
    order_mx(a.hosts, impl->options.random);
    co_return a;
}

asio::awaitable<AddrAnswer> DnsResolver::addresses(std::string host) {
    // Both families in flight at once; finish() returns at once for an
    // answer that arrived while the other was awaited.
    const auto impl = impl_;
    auto q6 = start(impl, host, kTypeAaaa);
    auto q4 = start(impl, std::move(host), kTypeA);
    co_await finish(*q6);
    co_await finish(*q4);
    AddrAnswer a;
    a.v6 = status_of(*q6, impl->options.timeout);
    a.v4 = status_of(*q4, impl->options.timeout);
    counted(metrics::DnsType::Aaaa, a.v6);
    counted(metrics::DnsType::A, a.v4);
    bool has6 = false, has4 = false;
    if (a.v6.ok()) {
        for (auto rd : rdata_of(*q6)) {
            if (rd.size() != 16) continue;
            asio::ip::address_v6::bytes_type b;
            std::copy(rd.begin(), rd.end(), b.begin());
            a.addresses.emplace_back(asio::ip::address_v6(b));
            has6 = true;
        }
    }
    if (a.v4.ok()) {
        for (auto rd : rdata_of(*q4)) {
            if (rd.size() != 4) continue;
            asio::ip::address_v4::bytes_type b;
            std::copy(rd.begin(), rd.end(), b.begin());
            a.addresses.emplace_back(asio::ip::address_v4(b));
            has4 = true;
        }
    }
    a.status = combine_address_status(a.v6, has6, a.v4, has4);
    co_return a;
}

asio::awaitable<TlsaAnswer> DnsResolver::tlsa(std::string host, std::uint16_t port) {
    TlsaAnswer a;
    // RFC 6698 §3: the TLSA owner name is _PORT._PROTOCOL.HOST.
    a.qname = fmt::format("_{}._tcp.{}", port, normalize_name(host));
    const auto impl = impl_;
    auto q = start(impl, a.qname, kTypeTlsa);
    co_await finish(*q);
    a.status = status_of(*q, impl->options.timeout);
    counted(metrics::DnsType::Tlsa, a.status);
    if (!a.status.ok()) co_return a;
    for (auto rd : rdata_of(*q)) {
        // A record too short to parse is kept as an unusable one (usage 255),
        // so that "records present, none usable" stays visible to policy.
        auto r = parse_tlsa(rd);
        a.records.push_back(r ? std::move(*r) : TlsaRecord{255, 255, 255, {}});
    }
    co_return a;
}

asio::awaitable<DnsStatus> DnsResolver::dnskey(std::string zone) {
    const auto impl = impl_;
    auto q = start(impl, std::move(zone), kTypeDnskey);
    co_await finish(*q);
    co_return status_of(*q, impl->options.timeout);
}

asio::awaitable<TxtAnswer> DnsResolver::txt(std::string name) {
    const auto impl = impl_;
    auto q = start(impl, std::move(name), kTypeTxt);
    co_await finish(*q);
    TxtAnswer a;
    a.status = status_of(*q, impl->options.timeout);
    if (!a.status.ok()) co_return a;
    for (auto rd : rdata_of(*q))
        if (auto t = parse_txt(rd)) a.records.push_back(std::move(*t));
    co_return a;
}

}  // namespace chainmail::resolve
