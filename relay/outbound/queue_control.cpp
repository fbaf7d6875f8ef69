// queue_control: the operator's queue actions; spool record first, then logs.
#include "relay/outbound/queue_control.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "policy/failure_table.hpp"
#include "policy/partner_match.hpp"
#include "relay/bounce/ndr.hpp"
#include "relay/log/outcome_event.hpp"
#include "relay/settle/settle.hpp"

namespace chainmail::outbound {

namespace asio = boost::asio;
using spool::RcptState;

namespace {

// How long hold, delete and bounce wait for an attempt in flight to reach its
// next check point and settle. Each SMTP stage has its own timeout, so an
// attempt always ends; this only bounds the wait of one command.
constexpr auto kStopWait = std::chrono::minutes(15);
constexpr auto kStopPoll = std::chrono::milliseconds(20);

constexpr std::string_view kHeldText = "held by the administrator";
constexpr std::string_view kDeletedText = "deleted by the administrator";
constexpr std::string_view kBouncedText = "returned to the sender by the administrator";

std::size_t pending_count(const spool::Envelope& env) {
    std::size_t n = 0;
    for (const spool::Recipient& r : env.recipients) n += r.state == RcptState::Pending ? 1 : 0;
    return n;
}

std::size_t delivered_count(const spool::Envelope& env) {
    std::size_t n = 0;
    for (const spool::Recipient& r : env.recipients) n += r.state == RcptState::Delivered ? 1 : 0;
    return n;
}

ActionResult result(const spool::QueueId& id, ActionStatus s, std::string text) {
    return ActionResult{id, s, std::move(text)};
}

ActionResult not_found(const spool::QueueId& id) {
    return result(id, ActionStatus::NotFound, "no such message in the queue");
}

ActionResult failed(const spool::QueueId& id, std::error_code ec) {
    return result(id, ActionStatus::Failed, "the spool refused the change: " + ec.message());
}

}  // namespace

std::string_view to_string(QueueAction a) {
    switch (a) {
        case QueueAction::Retry:
            return "retry";
        case QueueAction::Hold:
            return "hold";
        case QueueAction::Release:
            return "release";
        case QueueAction::Delete:
            return "delete";
        case QueueAction::Bounce:
            return "bounce";
    }
    return "retry";
}

std::optional<QueueAction> parse_queue_action(std::string_view s) {
    for (QueueAction a : {QueueAction::Retry, QueueAction::Hold, QueueAction::Release,
                          QueueAction::Delete, QueueAction::Bounce})
        if (to_string(a) == s) return a;
    return std::nullopt;
}

std::string_view to_string(ActionStatus s) {
    switch (s) {
        case ActionStatus::Done:
            return "done";
        case ActionStatus::Unchanged:
            return "unchanged";
        case ActionStatus::NotFound:
            return "not-found";
        case ActionStatus::Failed:
            return "failed";
    }
    return "failed";
}

QueueControl::QueueControl(asio::any_io_executor ex, ControlHooks hooks)
    : ex_(std::move(ex)), hooks_(std::move(hooks)) {}

asio::awaitable<std::vector<ActionResult>> QueueControl::act(
    QueueAction action, const std::vector<spool::QueueId>& asked, bool all) {
    std::vector<ActionResult> out;
    std::vector<spool::QueueId> ids = asked;
    if (all && action == QueueAction::Retry) {
        ids.clear();
        const std::int64_t now = hooks_.now_ms();
        for (const spool::Envelope& env : hooks_.spool.live()) {
            if (env.held) continue;
            for (std::size_t i = 0; i < env.recipients.size(); ++i) {
                const spool::Recipient& r = env.recipients[i];
                if (r.state == RcptState::Pending && r.next_attempt_ms > now &&
                    !hooks_.rcpt_in_flight(env.id, i)) {
                    ids.push_back(env.id);
                    break;
                }
            }
        }
    }
    for (const spool::QueueId& id : ids) {
        switch (action) {
            case QueueAction::Retry:
                out.push_back(co_await retry(id));
                break;
            case QueueAction::Hold:
                out.push_back(co_await hold(id));
                break;
            case QueueAction::Release:
                out.push_back(co_await release(id));
                break;
            case QueueAction::Delete:
                out.push_back(co_await remove(id));
                break;
            case QueueAction::Bounce:
                out.push_back(co_await bounce(id));
                break;
        }
    }
    co_return out;
}

asio::awaitable<std::error_code> QueueControl::make_due(const spool::Envelope& env, int& changed) {
    const std::int64_t now = hooks_.now_ms();
    std::vector<spool::RecipientUpdate> changes;
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        const spool::Recipient& r = env.recipients[i];
        // A recipient in flight gets its new state from its own attempt; a
        // second writer could undo that state (scheduler.hpp's guarantee).
        if (r.state != RcptState::Pending || r.next_attempt_ms <= now ||
            hooks_.rcpt_in_flight(env.id, i))
            continue;
        spool::RecipientUpdate u;
        u.index = i;
        u.state = RcptState::Pending;
        u.attempts = r.attempts;
        u.next_attempt_ms = now;
        u.last_error = r.last_error;
        changes.push_back(std::move(u));
    }
    changed = static_cast<int>(changes.size());
    if (changes.empty()) co_return std::error_code{};
    co_return co_await hooks_.spool.update(env.id, std::move(changes));
}

asio::awaitable<ActionResult> QueueControl::retry(const spool::QueueId& id) {
    auto env = hooks_.spool.find(id);
    if (!env) co_return not_found(id);
    if (env->held || stopping(id))
        co_return result(id, ActionStatus::Unchanged,
                         "held: `chainmail queue release` sends it on its way");
    int changed = 0;
    if (auto ec = co_await make_due(*env, changed)) co_return failed(id, ec);
    // A retry asked for by hand means "try it now, everywhere": a host that
    // failed recently is not skipped in favour of a lower-preference MX.
    if (hooks_.forget_host_failures) hooks_.forget_host_failures();
    hooks_.reindex(id);
    hooks_.wake();
    const char* paused = hooks_.delivering() ? "" : "; serve runs with --no-delivery";
    if (changed > 0) {
        spdlog::info("{}: retry now for {} recipient(s) (queue retry)", id, changed);
        co_return result(id, ActionStatus::Done,
                         fmt::format("retrying now ({} recipient(s)){}", changed, paused));
    }
    if (hooks_.in_flight(id))
        co_return result(id, ActionStatus::Unchanged, "being delivered at this moment");
    co_return result(id, ActionStatus::Unchanged,
                     fmt::format("already due; it goes out as soon as a slot is free{}", paused));
}

asio::awaitable<bool> QueueControl::stop_attempts(const spool::QueueId& id) {
    ++stopping_[id];
    hooks_.reindex(id);  // the scheduler leaves it alone from now on
    const auto deadline = std::chrono::steady_clock::now() + kStopWait;
    asio::steady_timer timer(ex_);
    while (hooks_.in_flight(id)) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_after(kStopPoll);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return true;
}

void QueueControl::done_stopping(const spool::QueueId& id) {
    auto it = stopping_.find(id);
    if (it != stopping_.end() && --it->second <= 0) stopping_.erase(it);
    hooks_.reindex(id);
}

void QueueControl::log_line(log::Event event, const spool::Envelope& env, std::size_t i,
                            std::string_view dsn, std::string_view reply,
                            const std::string& ndr_id) {
    const auto cfg = hooks_.config();
    const spool::Recipient& r = env.recipients[i];
    const config::Partner& partner =
        *policy::match_partner(cfg->partners, cfg->defaults, policy::domain_of(r.address)).partner;
    const std::int64_t now = hooks_.now_ms();
    log::DeliveryEvent e;
    e.event = event;
    e.ts_ms = now;
    e.queue_id = env.id;
    e.message_id = env.message_id;
    e.from = env.sender;
    e.rcpt = r.address;
    e.partner = partner.name.empty() ? "defaults" : partner.name;
    e.policy = std::string(policy::to_string(partner.tls));
    e.dsn = std::string(dsn);
    e.reply = std::string(reply);
    e.attempt = r.attempts;
    e.delay_s = static_cast<double>(now - env.arrival_ms) / 1000.0;
    e.ndr_queue_id = ndr_id;
    hooks_.log.write(e);
    // The operator's log, in Postfix habits: grep finds it by queue id.
    spdlog::info("{}: to=<{}>, partner={}, status={} ({}){}", env.id, r.address, e.partner,
                 log::event_name(event), reply, ndr_id.empty() ? "" : ", report " + ndr_id);
}

asio::awaitable<ActionResult> QueueControl::hold(const spool::QueueId& id) {
    auto env = hooks_.spool.find(id);
    if (!env) co_return not_found(id);
    if (env->held) co_return result(id, ActionStatus::Unchanged, "already held");
    if (!co_await stop_attempts(id)) {
        done_stopping(id);
        co_return result(id, ActionStatus::Failed,
                         "an attempt in flight did not end in time; try again");
    }
    env = hooks_.spool.find(id);  // as the attempts in flight left it
    if (!env) {
        done_stopping(id);
        co_return result(id, ActionStatus::NotFound,
                         "it finished (delivered or bounced) before the hold took effect");
    }
    if (auto ec = co_await hooks_.spool.set_held(id, true)) {
        done_stopping(id);
        co_return failed(id, ec);
    }
    done_stopping(id);
    for (std::size_t i = 0; i < env->recipients.size(); ++i)
        if (env->recipients[i].state == RcptState::Pending)
            log_line(log::event_of(policy::RcptOutcome::Held, env->ndr), *env, i,
                     policy::operator_status(policy::RcptOutcome::Held), kHeldText, "");
    co_return result(id, ActionStatus::Done,
                     fmt::format("held ({} recipient(s) waiting)", pending_count(*env)));
}

asio::awaitable<ActionResult> QueueControl::release(const spool::QueueId& id) {
    auto env = hooks_.spool.find(id);
    if (!env) co_return not_found(id);
    if (!env->held) co_return result(id, ActionStatus::Unchanged, "not held");
    // Due first, then unheld: a crash between the two leaves it held, never lost.
    int changed = 0;
    if (auto ec = co_await make_due(*env, changed)) co_return failed(id, ec);
    if (auto ec = co_await hooks_.spool.set_held(id, false)) co_return failed(id, ec);
    hooks_.reindex(id);
    hooks_.wake();
    spdlog::info("{}: released by the administrator; next attempt now", id);
    co_return result(id, ActionStatus::Done, "released; it goes out now");
}

asio::awaitable<ActionResult> QueueControl::remove(const spool::QueueId& id) {
    if (!hooks_.spool.find(id)) co_return not_found(id);
    if (!co_await stop_attempts(id)) {
        done_stopping(id);
        co_return result(id, ActionStatus::Failed,
                         "an attempt in flight did not end in time; try again");
    }
    auto env = hooks_.spool.find(id);
    if (!env) {
        done_stopping(id);
        co_return result(id, ActionStatus::NotFound,
                         "it finished (delivered or bounced) before the delete took effect");
    }
    if (auto ec = co_await hooks_.spool.remove(id)) {
        done_stopping(id);
        co_return failed(id, ec);
    }
    done_stopping(id);
    for (std::size_t i = 0; i < env->recipients.size(); ++i)
        if (env->recipients[i].state == RcptState::Pending)
            log_line(log::Event::Deleted, *env, i, "", kDeletedText, "");
    spdlog::info("{}: removed (queue delete)", id);
    const std::size_t delivered = delivered_count(*env);
    co_return result(id, ActionStatus::Done,
                     fmt::format("deleted; {} recipient(s) will not get it{}", pending_count(*env),
                                 delivered ? fmt::format(" ({} had it already)", delivered) : ""));
}

asio::awaitable<ActionResult> QueueControl::bounce(const spool::QueueId& id) {
    if (!hooks_.spool.find(id)) co_return not_found(id);
    if (!co_await stop_attempts(id)) {
        done_stopping(id);
        co_return result(id, ActionStatus::Failed,
                         "an attempt in flight did not end in time; try again");
    }
    auto env = hooks_.spool.find(id);
    if (!env || pending_count(*env) == 0) {
        done_stopping(id);
        co_return result(id, ActionStatus::NotFound,
                         "it finished (delivered or bounced) before the bounce took effect");
    }
    // Each pending recipient's outcome is Bounced; its status is the failure
    // table's for an operator's bounce (X.0.0, the text says why). The spool
    // state, the report and the log line all follow from these two.
    constexpr policy::RcptOutcome outcome = policy::RcptOutcome::Bounced;
    const std::string dsn = policy::operator_status(outcome);
    const std::string reply = fmt::format("{} {}", dsn, kBouncedText);
    std::vector<spool::RecipientUpdate> changes;
    for (std::size_t i = 0; i < env->recipients.size(); ++i) {
        const spool::Recipient& r = env->recipients[i];
        if (r.state != RcptState::Pending) continue;
        spool::RecipientUpdate u;
        u.index = i;
        u.state = settle::spool_state_of(outcome);
        u.attempts = r.attempts;
        u.next_attempt_ms = r.next_attempt_ms;
        u.last_error = reply;
        changes.push_back(std::move(u));
    }
    const auto cfg = hooks_.config();
    const std::int64_t now = hooks_.now_ms();
    std::vector<bounce::NdrRecipient> rcpts;
    for (const spool::RecipientUpdate& u : changes) {
        const spool::Recipient& r = env->recipients[u.index];
        if (!bounce::report_wanted(*env, r, outcome)) continue;
        const config::Partner& partner =
            *policy::match_partner(cfg->partners, cfg->defaults, policy::domain_of(r.address))
                 .partner;
        bounce::NdrRecipient n;
        n.address = r.address;
        n.orcpt = r.orcpt;
        n.outcome = outcome;
        n.status = dsn;  // as the delivery log says
        n.reason = policy::Reason::Cancelled;
        n.detail = std::string(kBouncedText);
        n.level = partner.tls;
        n.partner = partner.name;
        n.last_attempt_ms = r.attempts > 0 ? now : 0;
        rcpts.push_back(std::move(n));
    }
    std::mt19937_64 rng(std::random_device{}());
    settle::SettleContext ctx{*cfg, hooks_.templates, hooks_.spool, hooks_.log,
                              [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); }};
    std::vector<settle::Report> reports;
    if (!rcpts.empty() && !env->sender.empty() && !env->ndr) {
        std::string data;
        if (auto ec = hooks_.spool.read_message(id, data))
            spdlog::error("{}: cannot read the message for its report: {}", id, ec.message());
        if (auto r = settle::build_report(ctx, *env, data, rcpts, now))
            reports.push_back(std::move(*r));
    }
    // As in settle: the Failed states and their report are durable together.
    if (auto ec = co_await settle::commit_failures(ctx, *env, reports, changes)) {
        done_stopping(id);
        co_return failed(id, ec);
    }
    const std::string ndr_id = reports.empty() ? "" : reports.front().message.env.id;
    for (const spool::RecipientUpdate& u : changes)
        log_line(log::event_of(outcome, env->ndr), *env, u.index, dsn, kBouncedText, ndr_id);
    // Every recipient is now delivered or failed (and reported): finished.
    if (auto ec = co_await hooks_.spool.remove(id))
        spdlog::warn("{}: cannot remove: {}", id, ec.message());
    done_stopping(id);
    co_return result(
        id, ActionStatus::Done,
        fmt::format("bounced {} recipient(s); {}", changes.size(),
                    ndr_id.empty() ? "no report (null sender, or NOTIFY without FAILURE)"
                                   : "report " + ndr_id + " to the sender"));
}

}  // namespace chainmail::outbound
