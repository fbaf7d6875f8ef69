// delivery_attempt: the host loop of one destination, carrying out the
// failure table's verdicts. Order per host: requirement_for_host →
// before_connect → open → judge → transaction; nothing of a message is sent
// unless judge() said Deliver. After a failure policy::next_step() says
// whether the next host is tried; after the last, what each recipient gets.
#include "relay/deliver/delivery_attempt.hpp"

#include <spdlog/spdlog.h>

#include "policy/failure_table.hpp"
#include "policy/partner_match.hpp"
#include "policy/tls_decision.hpp"
#include "relay/deliver/host_session.hpp"
#include "relay/deliver/sensitive_mark.hpp"
#include "relay/metrics/metrics.hpp"

namespace chainmail::deliver {

namespace asio = boost::asio;
using policy::Outcome;
using policy::Reason;
using policy::Verdict;

struct DeliveryAttempt::Kept {
    std::unique_ptr<Connection> conn;
    std::string key;  // the requirement it was opened under
    Outcome judged;   // judge()'s verdict on it: tls.auth and would_fail
    std::string host;
    std::uint16_t port = 0;
};

struct DeliveryAttempt::Run {
    const spool::Envelope& env;
    std::string_view data;  // as delivered: the spooled message, or `stripped`
    std::string key;
    std::vector<std::size_t> pending;  // recipients without a verdict yet
    std::vector<RcptResult> done;
    Outcome last;  // the last host's refusal, when pending remain
    std::string last_host, last_ip;
    std::uint16_t last_port = 0;
    bool any_temp = false;  // some host could not be tried (never bounce on a TLS failure then)
    std::function<bool()> go_ahead;        // false: an operator stopped the message
    policy::Situation base;                // the partner's choices and the message's age
    bool report_mail = false;              // our own TLSRPT report: its sessions are not counted
    std::function<std::int64_t()> now_ms;  // AttemptSetup::now_ms
    bool chunking = true;                  // the partner's `chunking`: BDAT when offered
    std::optional<std::string> stripped;   // the message without its subject tags, if it had any

    // Where the attempt stands now, for the failure table.
    policy::Situation situation(bool hosts_left) const {
        policy::Situation s = base;
        s.hosts_left = hosts_left;
        s.host_skipped = any_temp;
        s.now = policy::FailureClock::time_point(std::chrono::milliseconds(now_ms()));
        return s;
    }
    // The failure table on the last refusal: go on to the next host?
    bool next_host(bool hosts_left) const {
        return policy::next_step(policy::trouble_of(last), situation(hosts_left)).step ==
               policy::Disposition::NextHost;
    }

    bool stopped() const { return go_ahead && !go_ahead(); }
    // Every recipient without a verdict is Cancelled: nothing more is sent.
    void cancel_pending() {
        for (std::size_t i : pending) {
            RcptResult r;
            r.index = i;
            r.outcome = policy::RcptOutcome::Cancelled;
            r.dsn = policy::operator_status(r.outcome);
            r.reply = "stopped by the administrator";
            done.push_back(std::move(r));
        }
        pending.clear();
    }
};

namespace {

std::string would_fail_of(const Outcome& o) {
    if (!o.would_fail) return {};
    std::string s(policy::to_string(*o.would_fail));
    if (!o.would_fail_detail.empty()) s += ": " + o.would_fail_detail;
    return s;
}

std::optional<log::TlsInfo> tls_of(const Connection& conn, const Outcome& o) {
    const SessionFacts& f = conn.facts();
    if (!f.tls_up || !f.tls) return std::nullopt;
    std::string auth(policy::to_string(o.auth));
    if (o.auth == policy::AuthLabel::Plaintext) auth = "none";
    return log::TlsInfo{std::string(policy::to_string(f.tls->version)), f.tls->cipher, auth};
}

// Whether `ip` (as the spool keeps the client address) is in one of `nets`.
bool client_listed(const std::vector<config::Cidr>& nets, const std::string& ip) {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    if (nets.empty() || !config::parse_ip(ip, v6, bytes)) return false;
    for (const config::Cidr& n : nets)
        if (n.contains(v6, bytes)) return true;
    return false;
}

}  // namespace

DeliveryAttempt::DeliveryAttempt(AttemptSetup setup) : setup_(setup) {}
DeliveryAttempt::~DeliveryAttempt() = default;

bool DeliveryAttempt::connected() const {
    return kept_ && kept_->conn && kept_->conn->usable();
}

asio::awaitable<void> DeliveryAttempt::close() {
    if (kept_ && kept_->conn) co_await kept_->conn->quit();
    kept_.reset();
}

asio::awaitable<bool> DeliveryAttempt::transact(Run& run, Connection& conn, const Outcome& o,
                                                std::uint16_t port) {
    if (run.stopped()) {  // the last moment before MAIL FROM
        run.cancel_pending();
        co_return true;
    }
    Message m;
    m.sender = run.env.sender;
    m.ret = run.env.ret;
    m.envid = run.env.envid;
    m.body = run.env.body;
    m.smtputf8 = run.env.smtputf8;
    m.requiretls = run.env.requiretls;
    m.chunking = run.chunking;
    m.data = run.data;
    m.go_ahead = run.go_ahead;
    for (std::size_t i : run.pending) {
        const spool::Recipient& r = run.env.recipients[i];
        m.recipients.push_back({r.address, r.notify, r.orcpt});
    }
    TransactionResult tr = co_await conn.transaction(m);
    const std::optional<log::TlsInfo> tls = tls_of(conn, o);
    std::vector<std::size_t> left;
    for (std::size_t k = 0; k < run.pending.size(); ++k) {
        RcptResult r;
        r.index = run.pending[k];
        r.host = run.last_host;
        r.ip = conn.facts().address.to_string();
        r.port = port;
        r.tls = tls;
        r.would_fail = would_fail_of(o);
        const policy::SmtpReply* refusal = nullptr;
        if (tr.delivered(k)) {
            r.outcome = policy::RcptOutcome::Delivered;
            r.dsn = policy::delivered_status(tr.data.enhanced);
            r.reply = tr.data.str();
            r.relayed = tr.dsn_dropped;
            run.done.push_back(std::move(r));
            continue;
        }
        if (tr.result.failure == Failure::Local) {
            refusal = &tr.result.reply;
            // RFC 8689 §4.2.1: REQUIRETLS refused by the next hop is 5.7.30.
            if (tr.result.reply.enhanced ==
                policy::unsendable_reply(policy::Unsendable::RequireTls).status)
                r.reason = Reason::RequireTlsNotOffered;
        } else if (tr.mail.code != 0 && !tr.mail.positive()) {
            refusal = &tr.mail;
        } else if (tr.rcpt[k].code != 0 && !tr.rcpt[k].positive()) {
            refusal = &tr.rcpt[k];
        } else if (tr.data.code != 0 && !tr.data.positive()) {
            refusal = &tr.data;
        }
        if (!refusal && run.stopped()) {  // closed before the final dot: nothing delivered
            r.outcome = policy::RcptOutcome::Cancelled;
            r.dsn = policy::operator_status(r.outcome);
            r.reply = "stopped by the administrator";
            run.done.push_back(std::move(r));
            continue;
        }
        if (!refusal) {  // no answer (connection lost, timeout): the next host may take it
            left.push_back(r.index);
            continue;
        }
        // The failure table: bounce on 5xx, defer on 4xx, expired at max_lifetime.
        const policy::NextStep next =
            policy::next_step(policy::trouble_of_reply(refusal->code, refusal->enhanced, r.reason),
                              run.situation(false));
        r.outcome = next.outcome;
        r.dsn = next.status;
        r.reply = refusal->str();
        run.done.push_back(std::move(r));
    }
    if (!left.empty()) {
        run.last = policy::temp_failure(Reason::Unknown, tr.result.text);
        run.last_ip = conn.facts().address.to_string();
        run.last_port = port;
        run.any_temp = true;
    }
    run.pending = std::move(left);
    co_return run.pending.empty();
}

asio::awaitable<bool> DeliveryAttempt::try_hosts(Run& run, const config::Partner& partner,
                                                 const connect::Target& target,
                                                 const policy::MtaStsFacts& sts) {
    const config::Config& cfg = *setup_.config;
    // RFC 8461 §2: where a policy applies, usable TLSA records decide first,
    // so they are looked up for the levels that a policy raises too.
    const bool sts_applies = partner.mta_sts && sts.mode != policy::MtaStsFacts::Mode::None;
    connect::Route route =
        co_await setup_.connector->resolve(target, wants_tlsa(partner.tls) || sts_applies);
    if (auto o = policy::check_destination(route.mx)) {
        run.last = *o;
        run.last_host.clear();
        co_return false;
    }
    // RFC 8460: sessions to the recipient domain's own MX hosts are counted
    // under the policy that domain published (not to a configured next hop).
    const std::string rcpt_domain =
        policy::domain_of(run.env.recipients.at(run.pending.at(0)).address);
    auto count = [&](const policy::HostFacts& host, const policy::TlsrptAttempt& a) {
        if (!setup_.tls_sessions || run.report_mail ||
            route.mx.source == policy::HostSource::NextHop)
            return;
        const auto p = policy::tlsrpt_policy(rcpt_domain, route.mx, host, sts, partner.mta_sts);
        policy::TlsrptAttempt counted = a;
        counted.policy_unusable = policy::tlsrpt_sts_unusable(sts);
        if (auto s = policy::tlsrpt_session(p, host, counted)) setup_.tls_sessions(*s);
    };
    const std::size_t n = route.mx.hosts.size();
    for (std::size_t i = 0; i < n && !run.pending.empty(); ++i) {
        if (run.stopped()) {
            run.cancel_pending();
            break;
        }
        const policy::HostFacts& host = route.mx.hosts[i];
        const bool hosts_left = i + 1 < n;
        run.last_host = host.name;
        run.last_ip.clear();
        run.last_port = host.port;
        const auto now = connect::Connector::Clock::now();
        if (hosts_left && setup_.connector->backed_off(host.name, host.port, now)) {
            run.last = policy::temp_failure(Reason::ConnectFailed,
                                            host.name + " failed recently; not tried");
            run.any_temp = true;
            if (run.next_host(hosts_left)) continue;
            break;
        }
        if (!hosts_left && setup_.connector->just_failed(host.name, host.port, now)) {
            // A dead destination: its last host refused another message's
            // connection a moment ago. Deferred as if refused, without a
            // connection of its own (docs/queue.md).
            run.last = policy::temp_failure(
                Reason::ConnectFailed,
                host.name + " failed to connect less than a second ago; not tried");
            run.any_temp = true;
            break;
        }
        policy::Requirement req =
            policy::requirement_for_host(partner, route.mx, host, sts, run.env.requiretls);
        if (auto o = policy::before_connect(req)) {
            if (policy::is_tls_failure(o->reason)) metrics::tls_failure(partner.name, o->reason);
            count(host, {*o, false, true, false, {}});
            run.last = *o;
            run.any_temp = run.any_temp || o->verdict == Verdict::TempFail;
            if (run.next_host(hosts_left)) continue;
            break;
        }
        if (route.addresses[i].empty()) {
            run.last = policy::temp_failure(
                Reason::NoAddress, host.name + " has no address" +
                                       (route.notes[i].empty() ? "" : ": " + route.notes[i]));
            run.any_temp = true;
            if (run.next_host(hosts_left)) continue;
            break;
        }
        SessionOptions opts;
        opts.helo_name = cfg.hostname;
        opts.addresses = route.addresses[i];
        opts.port = host.port;
        opts.connect_timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.connect_timeout);
        opts.timeout_scale = setup_.timeout_scale;
        // The same steps `chainmail probe` runs (host_session.hpp).
        JudgedSession session = co_await open_judged(*setup_.tls, req, opts);
        std::unique_ptr<Connection> conn = std::move(session.conn);
        const SessionFacts& facts = session.facts;
        Outcome o = std::move(session.outcome);
        {
            // RFC 8460: the TLS session as first tried, before a `may` plaintext
            // retry (judged as rejudge() does for the probe).
            const SessionFacts& tried = session.before_retry ? *session.before_retry : facts;
            const Outcome first = session.before_retry ? judge_session(req, nullptr, tried) : o;
            const bool tls_up = session.before_retry ? tried.tls_up
                                : conn               ? conn->facts().tls_up
                                                     : facts.tls_up;
            count(host, {first, true, req.apply.starttls != policy::Starttls::Never, tls_up,
                         tried.address.is_unspecified() ? "" : tried.address.to_string()});
        }
        run.last_ip = facts.address.is_unspecified() ? "" : facts.address.to_string();
        if (o.verdict != Verdict::Deliver) {
            if (conn) co_await conn->quit();
            if (policy::is_tls_failure(o.reason)) metrics::tls_failure(partner.name, o.reason);
            if (o.reason == Reason::ConnectFailed)
                setup_.connector->host_failed(host.name, host.port,
                                              connect::Connector::Clock::now());
            // Grep-able by queue id beside the per-recipient line (operator_line.hpp).
            spdlog::info("{}: host {}: {} ({})", run.env.id, host.name, policy::to_string(o.reason),
                         o.detail);
            run.last = std::move(o);
            run.any_temp = run.any_temp || run.last.verdict == Verdict::TempFail;
            if (run.next_host(hosts_left)) continue;
            break;
        }
        setup_.connector->host_ok(host.name, host.port);
        co_await transact(run, *conn, o, host.port);
        if (conn->usable()) {
            if (kept_ && kept_->conn) co_await kept_->conn->quit();
            kept_ = std::make_unique<Kept>(Kept{std::move(conn), run.key, o, host.name, host.port});
        } else {
            co_await conn->quit();
        }
        // Recipients left without an answer: the table says whether the next host gets them.
        if (!run.pending.empty() && !run.next_host(hosts_left)) break;
    }
    co_return run.pending.empty();
}

asio::awaitable<AttemptResult> DeliveryAttempt::deliver(const spool::Envelope& env,
                                                        const std::vector<std::size_t>& rcpts,
                                                        std::string_view data,
                                                        const std::function<bool()>& go_ahead) {
    const config::Config& cfg = *setup_.config;
    AttemptResult result;
    Run run{env, {}, {}, rcpts, {}, {}, {}, {}, 0, false, go_ahead, {}};
    run.now_ms = setup_.now_ms;
    const std::string domain = policy::domain_of(env.recipients.at(rcpts.at(0)).address);
    const config::Partner& partner =
        *policy::match_partner(cfg.partners, cfg.defaults, domain).partner;
    // RFC 8689, docs/sensitive.md: mail marked sensitive gets at least `authenticated`.
    // A report of ours quotes the original Subject in its own: it goes back
    // to our sender under the rule for the sender's domain, so that a marked
    // message that failed is still reported.
    result.sensitive = env.requiretls ? "REQUIRETLS"
                       : env.ndr      ? ""
                                      : sensitive_why(cfg.sensitive, data);
    const bool sensitive = !result.sensitive.empty();
    // RFC 8689 §4.2.2: "TLS-Required: No" only from the clients the operator
    // named, and never for sensitive mail: the stronger request wins (with
    // the REQUIRETLS option on MAIL FROM the header is ignored, RFC 8689 §4.2.2).
    bool tls_optional = false;
    if (tls_required_no(data)) {
        tls_optional =
            !sensitive && client_listed(cfg.tls_required_header.honour_from, env.client_ip);
        result.tls_required_no = tls_optional ? "honoured" : "ignored";
    }
    const config::Partner effective = sensitive      ? policy::sensitive_partner(partner)
                                      : tls_optional ? policy::tls_optional_partner(partner)
                                                     : partner;
    run.report_mail = policy::is_tlsrpt_mail(data);
    run.chunking = effective.chunking;
    if (!cfg.sensitive.subject_tags.empty()) run.stripped = strip_subject_tags(cfg.sensitive, data);
    run.data = run.stripped ? std::string_view(*run.stripped) : data;
    run.key = std::string(policy::to_string(effective.tls)) + "/" +
              std::string(policy::to_string(effective.mode)) + (env.requiretls ? "/rt" : "") +
              (tls_optional ? "/tls-optional" : "");
    result.partner = partner.name.empty() ? "defaults" : partner.name;
    result.level = effective.tls;
    // RFC 8461: the recipient domain's policy, for MX delivery only (a
    // configured next hop is not the domain's MX). Fetched before the hosts,
    // in this destination's worker: other destinations never wait for it.
    policy::MtaStsFacts sts;
    if (setup_.sts && effective.mta_sts && !partner.next_hop && consults_mta_sts(effective.tls)) {
        sts = co_await setup_.sts->lookup(domain);
        run.key += "/sts:" + std::string(policy::to_string(sts.mode)) + ":" + sts.id;
    }
    run.base.on_tls_failure = effective.on_tls_failure;
    run.base.fallback_next_hop = partner.fallback_next_hop.has_value();
    // RFC 8461 §5.1: a policy the live TXT record did not confirm in this attempt.
    run.base.sts_unconfirmed = !sts.current && sts.mode == policy::MtaStsFacts::Mode::Enforce;
    run.base.arrival = policy::FailureClock::time_point(std::chrono::milliseconds(env.arrival_ms));
    run.base.max_lifetime = cfg.queue.max_lifetime;

    if (kept_ && kept_->conn && kept_->conn->usable() && kept_->key == run.key) {
        run.last_host = kept_->host;
        co_await transact(run, *kept_->conn, kept_->judged, kept_->port);
        if (!kept_->conn->usable()) kept_.reset();
    } else if (kept_) {
        co_await close();
    }
    if (!run.pending.empty()) {
        const connect::Target target = connect::target_for(partner, domain, cfg.delivery.port);
        if (!co_await try_hosts(run, effective, target, sts) && run.stopped()) {
            run.cancel_pending();  // the operator's action decides their fate, not this attempt
        } else if (!run.pending.empty()) {
            // Every host tried: the failure table decides for the recipients left.
            policy::NextStep next =
                policy::next_step(policy::trouble_of(run.last), run.situation(false));
            if (next.step == policy::Disposition::Reroute) {
                const config::Partner fallback = policy::reroute_partner(partner);
                result.rerouted = true;
                result.level = fallback.tls;
                run.any_temp = false;
                run.key += "/reroute";
                // The fallback route has its own choices and no MTA-STS policy.
                run.base.on_tls_failure = fallback.on_tls_failure;
                run.base.rerouted = true;
                run.base.sts_unconfirmed = false;
                if (!co_await try_hosts(run, fallback,
                                        connect::target_for(*partner.fallback_next_hop), {}))
                    next = policy::next_step(policy::trouble_of(run.last), run.situation(false));
            }
            for (std::size_t i : run.pending) {
                RcptResult r;
                r.index = i;
                r.reason = run.last.reason;
                r.reply = run.last.detail;
                r.host = run.last_host;
                r.ip = run.last_ip;
                r.port = run.last_host.empty() ? 0 : run.last_port;
                r.would_fail = would_fail_of(run.last);
                r.outcome = next.outcome;
                r.dsn = next.status;
                run.done.push_back(std::move(r));
            }
            run.pending.clear();
        }
    }
    // Same order as asked.
    for (std::size_t i : rcpts)
        for (RcptResult& r : run.done)
            if (r.index == i) result.rcpts.push_back(r);
    co_return result;
}

}  // namespace chainmail::deliver
