// settle: turns one attempt's verdicts into, in this order, the durable
// recipient state (Spool::update), the held flag, the reports (RFC 3464,
// committed as new messages from <>), the delivery log lines, and removal
// of a finished message. See scheduler.hpp for the guarantee this keeps.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "config/config.hpp"
#include "relay/bounce/ndr.hpp"
#include "relay/bounce/ndr_template.hpp"
#include "relay/deliver/delivery_attempt.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::settle {

struct SettleContext {
    const config::Config& config;
    const bounce::NdrTemplates& templates;
    spool::Spool& spool;
    log::DeliveryLog& log;
    std::function<double()> random01;  // retry jitter
};

// The durable state of a recipient outcome (relay/spool/FORMAT.md: pending,
// delivered, failed): the one mapping, for settlement and the queue actions.
// The spool itself knows nothing of outcomes.
spool::RcptState spool_state_of(policy::RcptOutcome o);

// `env` is the envelope as it was before the attempt; `data` its bytes.
boost::asio::awaitable<void> settle(const SettleContext& ctx, const spool::Envelope& env,
                                    std::string_view data, const deliver::AttemptResult& result,
                                    std::int64_t now_ms);

// One report (RFC 3464), built and not yet queued.
struct Report {
    spool::NewMessage message;  // from <> to the original sender
    bounce::ReportKind kind = bounce::ReportKind::Failure;
};

// Builds one report for `rcpts`, all of one kind of outcome
// (bounce::report_kind); nullopt when `rcpts` is empty or it cannot be built
// (logged).
std::optional<Report> build_report(const SettleContext& ctx, const spool::Envelope& env,
                                   std::string_view data,
                                   const std::vector<bounce::NdrRecipient>& rcpts,
                                   std::int64_t now_ms);

// Builds one report and commits it; its queue id, or "" when it could not be
// built or queued (logged). For reports whose loss in a crash costs nothing
// lasting: success and delay notices.
boost::asio::awaitable<std::string> commit_report(const SettleContext& ctx,
                                                  const spool::Envelope& env, std::string_view data,
                                                  const std::vector<bounce::NdrRecipient>& rcpts,
                                                  std::int64_t now_ms);

// Records the Failed states `changes` of env's recipients together with the
// reports that tell the sender (Spool::commit_with_update): a crash never
// leaves a recipient failed and its report unqueued. Each report's
// message.env.id is its queue id afterwards, "" when it could not be queued;
// then the states are recorded alone (logged). The error is the states'.
boost::asio::awaitable<std::error_code> commit_failures(
    const SettleContext& ctx, const spool::Envelope& env, std::vector<Report>& reports,
    std::vector<spool::RecipientUpdate> changes);

// A live message none of whose recipients is Pending (a crash came between
// its last update and its removal): removed, since its reports were either
// committed or lost with the crash (see GUARANTEE.md).
boost::asio::awaitable<void> remove_finished(spool::Spool& spool);

}  // namespace chainmail::settle
