// settle: carries out each recipient's outcome (policy::RcptOutcome, decided
// by the failure table during the attempt): durable state first, then held
// flag, reports, log lines, removal. An outcome's spool state is mapped here
// (spool_state_of); its report words are bounce's (bounce/ndr_reason.hpp),
// its log words the log's (log/outcome_event.hpp).
#include "relay/settle/settle.hpp"

#include <spdlog/spdlog.h>

#include "policy/retry.hpp"
#include "relay/bounce/ndr.hpp"
#include "relay/log/operator_line.hpp"
#include "relay/log/outcome_event.hpp"
#include "relay/metrics/metrics.hpp"

namespace chainmail::settle {

namespace asio = boost::asio;
using policy::RcptOutcome;

namespace {

using TimePoint = policy::TimePoint;

TimePoint at(std::int64_t ms) {
    return TimePoint(std::chrono::milliseconds(ms));
}

std::int64_t ms_of(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The report's recipient: the outcome and status as the failure table gave
// them, so the report and the delivery log's dsn say the same.
bounce::NdrRecipient ndr_rcpt(const spool::Recipient& rc, const deliver::RcptResult& r,
                              const deliver::AttemptResult& res, RcptOutcome outcome,
                              policy::Reason reason, std::int64_t now_ms) {
    bounce::NdrRecipient n;
    n.address = rc.address;
    n.orcpt = rc.orcpt;
    n.outcome = outcome;
    n.relayed = r.relayed;
    n.status = r.dsn;
    n.reason = reason;
    n.host = r.host;
    n.ip = r.ip;
    n.reply = reason == policy::Reason::None ? r.reply : "";
    n.detail = reason == policy::Reason::None ? "" : r.reply;
    n.level = res.level;
    n.partner = res.partner == "defaults" ? "" : res.partner;
    n.last_attempt_ms = now_ms;
    return n;
}

}  // namespace

spool::RcptState spool_state_of(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Delivered:
            return spool::RcptState::Delivered;
        case RcptOutcome::Bounced:
        case RcptOutcome::Expired:
            return spool::RcptState::Failed;
        case RcptOutcome::Deferred:
        case RcptOutcome::Held:
        case RcptOutcome::Cancelled:  // never here: outbound leaves them out (queue_control.hpp)
            return spool::RcptState::Pending;
    }
    return spool::RcptState::Pending;
}

std::optional<Report> build_report(const SettleContext& ctx, const spool::Envelope& env,
                                   std::string_view data,
                                   const std::vector<bounce::NdrRecipient>& rcpts,
                                   std::int64_t now_ms) {
    if (rcpts.empty()) return std::nullopt;
    bounce::NdrMessage m;
    try {
        bounce::NdrOptions o;
        o.now_ms = now_ms;
        m = bounce::build_ndr(ctx.config, ctx.templates, env, data, rcpts, o);
    } catch (const std::exception& e) {  // a broken invariant of ours: say so, keep going
        spdlog::error("{}: cannot build a report: {}", env.id, e.what());
        return std::nullopt;
    }
    Report r;
    r.kind = m.kind;
    spool::Envelope& n = r.message.env;
    n.sender = "";  // RFC 5321 §4.5.5: reports have the null sender
    spool::Recipient to;
    to.address = env.sender;
    n.recipients.push_back(to);
    n.ndr = true;
    n.body = m.eight_bit ? spool::BodyType::EightBitMime : spool::BodyType::SevenBit;
    n.smtputf8 = m.smtputf8;
    n.message_id = m.message_id;
    n.client_helo = ctx.config.hostname;
    n.arrival_ms = now_ms;
    r.message.bytes = std::move(m.bytes);
    return r;
}

namespace {

void log_queued(const spool::Envelope& env, const Report& r) {
    // Postfix's bounce(8) line: grep for either queue id finds the other.
    spdlog::info("{}: sender {} notification: {}", env.id, bounce::to_string(r.kind),
                 r.message.env.id);
}

}  // namespace

asio::awaitable<std::string> commit_report(const SettleContext& ctx, const spool::Envelope& env,
                                           std::string_view data,
                                           const std::vector<bounce::NdrRecipient>& rcpts,
                                           std::int64_t now_ms) {
    auto r = build_report(ctx, env, data, rcpts, now_ms);
    if (!r) co_return "";
    if (auto ec = co_await ctx.spool.commit(r->message.env, std::move(r->message.bytes))) {
        spdlog::error("{}: cannot queue the report: {}", env.id, ec.message());
        co_return "";
    }
    log_queued(env, *r);
    co_return r->message.env.id;
}

asio::awaitable<std::error_code> commit_failures(const SettleContext& ctx,
                                                 const spool::Envelope& env,
                                                 std::vector<Report>& reports,
                                                 std::vector<spool::RecipientUpdate> changes) {
    if (changes.empty()) co_return std::error_code{};
    if (!reports.empty()) {
        std::vector<spool::NewMessage> messages;
        for (Report& r : reports) messages.push_back(std::move(r.message));
        const std::error_code ec = co_await ctx.spool.commit_with_update(messages, env.id, changes);
        for (std::size_t i = 0; i < reports.size(); ++i) {
            reports[i].message.env = std::move(messages[i].env);
            if (ec) reports[i].message.env.id.clear();
        }
        if (!ec) {
            for (const Report& r : reports) log_queued(env, r);
            co_return ec;
        }
        spdlog::error("{}: cannot queue the report: {}", env.id, ec.message());
    }
    // No report to go with them (none could be built or queued, logged): the
    // states are recorded alone, as no retry of the delivery would mend that.
    co_return co_await ctx.spool.update(env.id, std::move(changes));
}

asio::awaitable<void> settle(const SettleContext& ctx, const spool::Envelope& env,
                             std::string_view data, const deliver::AttemptResult& res,
                             std::int64_t now_ms) {
    const config::Queue& q = ctx.config.queue;
    // A failure the sender is told of waits for its report (commit_failures);
    // every other state is durable before anything else (scheduler.hpp).
    const bool reports = !env.sender.empty() && !env.ndr;  // never to <>
    std::vector<bool> reported(res.rcpts.size(), false);
    std::vector<spool::RecipientUpdate> now_changes, failed_changes;
    for (std::size_t k = 0; k < res.rcpts.size(); ++k) {
        const deliver::RcptResult& r = res.rcpts[k];
        const spool::Recipient& rc = env.recipients[r.index];
        spool::RecipientUpdate u;
        u.index = r.index;
        u.attempts = rc.attempts + 1;
        u.last_error = r.reply;
        u.state = spool_state_of(r.outcome);
        if (u.state == spool::RcptState::Pending)
            u.next_attempt_ms = ms_of(policy::next_attempt(q, u.attempts, at(now_ms),
                                                           at(env.arrival_ms), ctx.random01()));
        reported[k] = reports &&
                      (r.outcome == RcptOutcome::Bounced || r.outcome == RcptOutcome::Expired) &&
                      bounce::report_wanted(env, rc, r.outcome);
        (reported[k] ? failed_changes : now_changes).push_back(std::move(u));
    }
    if (!now_changes.empty()) {
        if (auto ec = co_await ctx.spool.update(env.id, std::move(now_changes))) {
            spdlog::error("{}: cannot record the delivery state: {}", env.id, ec.message());
            co_return;
        }
    }
    bool any_held = false;
    for (const deliver::RcptResult& r : res.rcpts)
        any_held = any_held || r.outcome == RcptOutcome::Held;
    if (any_held) {
        if (auto ec = co_await ctx.spool.set_held(env.id, true))
            spdlog::error("{}: cannot hold: {}", env.id, ec.message());
    }

    // Reports: one per message and event, for exactly this attempt's recipients.
    std::vector<bounce::NdrRecipient> failed, expired, delayed, success;
    for (std::size_t k = 0; k < res.rcpts.size(); ++k) {
        const deliver::RcptResult& r = res.rcpts[k];
        const spool::Recipient& rc = env.recipients[r.index];
        if (reported[k]) {
            if (r.outcome == RcptOutcome::Bounced)
                failed.push_back(ndr_rcpt(rc, r, res, r.outcome, r.reason, now_ms));
            else
                expired.push_back(ndr_rcpt(rc, r, res, r.outcome, policy::Reason::Expired, now_ms));
            continue;
        }
        // RFC 3461 §5.2.2: a next hop that took the DSN parameters reports
        // success itself; only "relayed" is ours to send.
        if (!reports || r.outcome == RcptOutcome::Bounced || r.outcome == RcptOutcome::Expired ||
            (r.outcome == RcptOutcome::Delivered && !r.relayed) ||
            !bounce::report_wanted(env, rc, r.outcome))
            continue;
        if (r.outcome == RcptOutcome::Delivered)
            success.push_back(ndr_rcpt(rc, r, res, r.outcome, policy::Reason::None, now_ms));
        else  // Deferred or Held (Cancelled never comes here: queue_control.hpp)
            // A held recipient holds the whole message: its notice is a
            // hold notice for every recipient it lists.
            delayed.push_back(
                ndr_rcpt(rc, r, res, any_held ? RcptOutcome::Held : r.outcome, r.reason, now_ms));
    }
    std::string failed_ndr, expired_ndr;
    {
        std::vector<Report> built;
        std::optional<std::size_t> f, x;  // where the failure and the expiry report are
        if (auto r = build_report(ctx, env, data, failed, now_ms)) {
            f = built.size();
            built.push_back(std::move(*r));
        }
        if (auto r = build_report(ctx, env, data, expired, now_ms)) {
            x = built.size();
            built.push_back(std::move(*r));
        }
        if (auto ec = co_await commit_failures(ctx, env, built, std::move(failed_changes))) {
            spdlog::error("{}: cannot record the delivery state: {}", env.id, ec.message());
            co_return;
        }
        if (f) failed_ndr = built[*f].message.env.id;
        if (x) expired_ndr = built[*x].message.env.id;
    }
    if (reports) {
        co_await commit_report(ctx, env, data, success, now_ms);
        const bool due = any_held || policy::delay_warning_due(q, at(env.arrival_ms), at(now_ms),
                                                               env.delay_notice_sent);
        if (!delayed.empty() && due && !env.delay_notice_sent) {
            if (!(co_await commit_report(ctx, env, data, delayed, now_ms)).empty())
                if (auto ec = co_await ctx.spool.mark_delay_notice_sent(env.id))
                    spdlog::warn("{}: delay notice sent, not recorded: {}", env.id, ec.message());
        }
    }

    for (std::size_t k = 0; k < res.rcpts.size(); ++k) {
        const deliver::RcptResult& r = res.rcpts[k];
        log::DeliveryEvent e;
        e.event = log::event_of(r.outcome, env.ndr);
        if (r.outcome == RcptOutcome::Bounced) e.ndr_queue_id = failed_ndr;
        if (r.outcome == RcptOutcome::Expired) e.ndr_queue_id = expired_ndr;
        e.ts_ms = now_ms;
        e.queue_id = env.id;
        e.message_id = env.message_id;
        e.from = env.sender;
        e.rcpt = env.recipients[r.index].address;
        e.partner = res.partner;
        e.policy = std::string(policy::to_string(res.level));
        e.host = r.host;
        e.ip = r.ip;
        e.port = r.port;
        e.tls = r.tls;
        e.dsn = r.dsn;
        e.reply = r.reply;
        e.attempt = env.recipients[r.index].attempts + 1;  // as recorded above
        e.delay_s = static_cast<double>(now_ms - env.arrival_ms) / 1000.0;
        e.would_fail = r.would_fail;
        e.sensitive = res.sensitive;
        e.tls_required_no = res.tls_required_no;
        if (r.reason != policy::Reason::None && r.outcome != RcptOutcome::Delivered)
            e.reason = std::string(policy::to_string(r.reason));
        ctx.log.write(e);
        // Built only when it is shown (log.level info or debug).
        if (spdlog::should_log(spdlog::level::info))
            spdlog::info("{}", log::operator_line(e, r.outcome, r.reason));
        metrics::settled(
            {r.outcome, e.tls ? e.tls->version : "", e.tls ? e.tls->auth : "", *e.delay_s});
    }

    // Finished: every recipient delivered or failed (and reported above).
    if (auto now = ctx.spool.find(env.id)) {
        bool open = false;
        for (const spool::Recipient& rc : now->recipients)
            open = open || rc.state == spool::RcptState::Pending;
        if (!open) {
            if (auto ec = co_await ctx.spool.remove(env.id))
                spdlog::warn("{}: cannot remove: {}", env.id, ec.message());
        }
    }
}

asio::awaitable<void> remove_finished(spool::Spool& spool) {
    for (const spool::Envelope& env : spool.live()) {
        bool open = false;
        for (const spool::Recipient& rc : env.recipients)
            open = open || rc.state == spool::RcptState::Pending;
        if (open) continue;
        spdlog::info("{}: finished before the last stop; removing it", env.id);
        co_await spool.remove(env.id);
    }
}

}  // namespace chainmail::settle
