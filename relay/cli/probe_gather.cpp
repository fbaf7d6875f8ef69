// probe_gather: one target's facts and verdicts. Per level, exactly the steps
// of DeliveryAttempt::try_hosts: requirement_for_host, before_connect, then a
// connection opened and judged by deliver::open_judged; a connection is made
// once per distinct verification and judged again for each level using it.
#include <chrono>
#include <map>

#include "policy/failure_table.hpp"
#include "policy/partner_match.hpp"
#include "policy/tls_decision.hpp"
#include "relay/cli/probe.hpp"
#include "relay/deliver/host_session.hpp"

namespace chainmail::cli {

namespace asio = boost::asio;
using policy::TlsLevel;

namespace {

// A probe does not wait five minutes for a greeting: a fifth of every
// protocol timeout (connect_timeout stays as configured).
constexpr double kProbeTimeoutScale = 0.2;

constexpr TlsLevel kLevels[] = {TlsLevel::None,        TlsLevel::May,      TlsLevel::Encrypt,
                                TlsLevel::Fingerprint, TlsLevel::Verify,   TlsLevel::Secure,
                                TlsLevel::Dane,        TlsLevel::DaneOnly, TlsLevel::Authenticated};

std::string names_of(const std::vector<tls::CertInfo>& chain) {
    if (chain.empty()) return {};
    std::string out;
    for (const auto& n : chain.front().dns_names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? chain.front().subject : out;
}

// One connection under `req`, judged by the delivery code, closed with QUIT.
asio::awaitable<ProbeSession> open_session(const ProbeSetup& setup, const policy::Requirement& req,
                                           const policy::HostFacts& host,
                                           const std::vector<asio::ip::address>& addresses) {
    const config::Config& cfg = *setup.config;
    deliver::SessionOptions opts;
    opts.helo_name = cfg.hostname;
    opts.addresses = addresses;
    opts.port = host.port;
    opts.connect_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.connect_timeout);
    opts.timeout_scale = kProbeTimeoutScale;
    opts.requirement.describe_chain = true;
    deliver::JudgedSession s = co_await deliver::open_judged(*setup.tls, req, opts);
    if (s.conn) co_await s.conn->quit();  // nothing of a message, ever
    ProbeSession ps;
    deliver::SessionOptions applied;
    deliver::apply_requirement(req, applied);
    ps.required = applied.starttls == policy::Starttls::Required;
    ps.verified = applied.requirement;
    ps.opened = s.conn != nullptr;
    ps.facts = s.facts;
    ps.before_retry = s.before_retry;
    co_return ps;
}

}  // namespace

asio::awaitable<TargetProbe> probe_target(const ProbeSetup& setup, std::string target) {
    const auto started = std::chrono::steady_clock::now();
    const config::Config& cfg = *setup.config;
    TargetProbe p;
    p.target = target;
    p.domain = policy::domain_of(target);
    const policy::PartnerMatch m = policy::match_partner(cfg.partners, cfg.defaults, p.domain);
    p.partner = *m.partner;
    p.is_default = m.is_default;
    p.why = m.why;
    p.route = connect::target_for(p.partner, p.domain, setup.port.value_or(cfg.delivery.port));

    // RFC 8461: the recipient domain's policy, for MX delivery only (as delivery).
    if (setup.sts && p.partner.mta_sts && !p.partner.next_hop) {
        p.sts = co_await setup.sts->lookup(p.domain);
        p.sts_looked_up = true;
    }
    // Every lookup any level needs; levels that would not look TLSA up get
    // the host without them below, exactly as delivery would see it.
    connect::Route route = co_await setup.connector->resolve(p.route, true);
    p.mx = route.mx;
    p.destination = policy::check_destination(route.mx);
    for (std::size_t i = 0; i < route.mx.hosts.size(); ++i) {
        HostProbe h;
        h.facts = route.mx.hosts[i];
        for (const auto& a : route.addresses[i]) h.addresses.push_back(a.to_string());
        h.note = route.notes[i];
        p.hosts.push_back(std::move(h));
    }

    std::vector<std::map<std::string, std::size_t>> by_key(p.hosts.size());
    for (TlsLevel level : kLevels) {
        config::Partner partner = p.partner;
        partner.tls = level;
        partner.mode = policy::Mode::Enforce;  // what the level decides, not what testing does
        const bool consults = partner.mta_sts && deliver::consults_mta_sts(level);
        const policy::MtaStsFacts sts = consults ? p.sts : policy::MtaStsFacts{};
        const bool sts_applies = partner.mta_sts && sts.mode != policy::MtaStsFacts::Mode::None;
        const bool tlsa_looked_up = deliver::wants_tlsa(level) || sts_applies;
        std::vector<policy::HostOutcome> outcomes;
        // The hosts a delivery would try: it stops at the first that delivers,
        // or where the failure table says not to go on. Later hosts are still
        // probed, for their facts, but do not count.
        bool stopped = false, any_temp = false;
        auto record = [&](const std::string& host, policy::Outcome o, bool hosts_left) {
            if (stopped) return;
            any_temp = any_temp || o.verdict == policy::Verdict::TempFail;
            policy::Situation s;
            s.hosts_left = hosts_left;
            s.host_skipped = any_temp;
            s.on_tls_failure = policy::OnTlsFailure::Bounce;
            s.now = s.arrival;
            stopped =
                o.verdict == policy::Verdict::Deliver ||
                policy::next_step(policy::trouble_of(o), s).step != policy::Disposition::NextHost;
            outcomes.push_back({host, std::move(o)});
        };
        if (!p.destination) {
            policy::MxFacts mx = route.mx;
            if (!tlsa_looked_up)
                for (auto& h : mx.hosts) h.tlsa = {};
            for (std::size_t i = 0; i < mx.hosts.size(); ++i) {
                const policy::HostFacts& host = mx.hosts[i];
                HostProbe& hp = p.hosts[i];
                const bool hosts_left = i + 1 < mx.hosts.size();
                const policy::Requirement req =
                    policy::requirement_for_host(partner, mx, host, sts, false);
                if (auto o = policy::before_connect(req)) {
                    record(host.name, *o, hosts_left);
                    continue;
                }
                if (route.addresses[i].empty()) {
                    record(host.name,
                           policy::temp_failure(policy::Reason::NoAddress,
                                                host.name + " has no address" +
                                                    (hp.note.empty() ? "" : ": " + hp.note)),
                           hosts_left);
                    continue;
                }
                std::string key =
                    deliver::session_key(req, host.name) + "|" + std::to_string(host.port);
                for (const auto& a : hp.addresses) key += "|" + a;
                auto it = by_key[i].find(key);
                if (it == by_key[i].end()) {
                    ProbeSession ps;
                    if (auto known = setup.seen->find(key); known != setup.seen->end()) {
                        ps = known->second;
                    } else {
                        ps = co_await open_session(setup, req, host, route.addresses[i]);
                        setup.seen->emplace(key, ps);
                    }
                    hp.sessions.push_back(std::move(ps));
                    it = by_key[i].emplace(key, hp.sessions.size() - 1).first;
                }
                const ProbeSession& ps = hp.sessions[it->second];
                policy::Outcome o = deliver::rejudge(req, ps.opened, ps.facts, ps.before_retry);
                record(host.name, std::move(o), hosts_left);
            }
        }
        policy::LevelVerdict v = policy::level_verdict(level, p.destination, outcomes);
        if (v.reason == policy::Reason::CertificateName) {
            for (const HostProbe& hp : p.hosts)
                if (hp.facts.name == v.host)
                    if (const HostView view = view_of(hp); view.chain && !view.chain->empty())
                        v.reason_text += " (it is issued to " + names_of(*view.chain) + ")";
        }
        p.levels.push_back(std::move(v));
    }
    p.strongest = policy::strongest(p.levels);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    co_return p;
}

}  // namespace chainmail::cli
