// queue: `chainmail queue list|show` read the spool named in the
// configuration without locking it (scan_spool, read_spool_messages), so they
// work whether serve runs or not; retry|hold|release|delete|bounce ask the
// running serve through its control socket (relay/control).
#include <fmt/core.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "policy/partner_match.hpp"
#include "relay/cli/cli.hpp"
#include "relay/clock/wall_clock.hpp"
#include "relay/control/control_client.hpp"
#include "relay/spool/spool.hpp"

namespace chainmail::cli {

namespace {

using spool::Envelope;
using spool::RcptState;

// The delivery log's words: delivered, bounced, held, deferred; "queued"
// for a recipient that waits for its first attempt.
const char* state_name(const Envelope& e, const spool::Recipient& r) {
    switch (r.state) {
        case RcptState::Pending:
            if (e.held) return "held";
            return r.attempts > 0 ? "deferred" : "queued";
        case RcptState::Delivered:
            return "delivered";
        case RcptState::Failed:
            return "bounced";
    }
    return "unknown";
}

// The partner rule and TLS level that apply to a recipient now.
struct Rule {
    std::string partner;
    std::string level;
};

Rule rule_of(const config::Config& cfg, const std::string& address) {
    const config::Partner& p =
        *policy::match_partner(cfg.partners, cfg.defaults, policy::domain_of(address)).partner;
    return {p.name.empty() ? "defaults" : p.name, std::string(policy::to_string(p.tls))};
}

std::string age(std::int64_t arrival_ms, std::int64_t now) {
    std::int64_t s = std::max<std::int64_t>(0, (now - arrival_ms) / 1000);
    if (s < 120) return fmt::format("{}s", s);
    if (s < 7200) return fmt::format("{}m", s / 60);
    if (s < 172800) return fmt::format("{}h", s / 3600);
    return fmt::format("{}d", s / 86400);
}

std::string utc(std::int64_t ms) {
    if (ms == 0) return "now";
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The reason a message is still queued: the last error of a pending
// recipient, else of any recipient.
std::string last_error(const Envelope& e) {
    for (const auto& r : e.recipients)
        if (r.state == RcptState::Pending && !r.last_error.empty()) return r.last_error;
    for (const auto& r : e.recipients)
        if (!r.last_error.empty()) return r.last_error;
    return {};
}

nlohmann::json to_json(const config::Config& cfg, const Envelope& e, std::int64_t now) {
    nlohmann::json rcpts = nlohmann::json::array();
    for (const auto& r : e.recipients) {
        const Rule rule = rule_of(cfg, r.address);
        rcpts.push_back({{"address", r.address},
                         {"state", state_name(e, r)},
                         {"partner", rule.partner},
                         {"level", rule.level},
                         {"attempts", r.attempts},
                         {"next_attempt", utc(r.next_attempt_ms)},
                         {"last_error", r.last_error}});
    }
    return {{"id", e.id},
            {"arrival", utc(e.arrival_ms)},
            {"age_s", std::max<std::int64_t>(0, (now - e.arrival_ms) / 1000)},
            {"sender", e.sender},
            {"size", e.size},
            {"held", e.held},
            {"recipients", rcpts},
            {"last_error", last_error(e)}};
}

struct Queue {
    config::Config cfg;
    std::vector<Envelope> messages;
};

std::optional<Queue> read_queue(const Common& common) {
    auto cfg = load(common);
    if (!cfg) return std::nullopt;
    try {
        std::vector<Envelope> messages = spool::scan_spool(cfg->spool);
        return Queue{std::move(*cfg), std::move(messages)};
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail: cannot read the spool {}: {}\n", cfg->spool, e.what());
        return std::nullopt;
    }
}

}  // namespace

int cmd_queue_list(const Common& common, bool json) {
    auto queue = read_queue(common);
    if (!queue) return 1;
    const std::int64_t now = clock::now_ms();
    if (json) {
        for (const auto& e : queue->messages)
            std::cout << to_json(queue->cfg, e, now).dump() << '\n';
        return 0;
    }
    if (queue->messages.empty()) {
        fmt::print("The queue is empty.\n");
        return 0;
    }
    fmt::print("{:<26}  {:>5}  {:>9}  {}\n", "QUEUE ID", "AGE", "SIZE", "SENDER");
    fmt::print("  {:<9}  {}\n", "STATE", "RECIPIENT  (PARTNER, LEVEL)  LAST ERROR");
    std::size_t held = 0;
    for (const auto& e : queue->messages) {
        held += e.held ? 1 : 0;
        fmt::print("{:<26}  {:>5}  {:>9}  {}{}\n", e.id, age(e.arrival_ms, now), e.size,
                   e.sender.empty() ? "<>" : e.sender, e.held ? "  (held)" : "");
        for (const auto& r : e.recipients) {
            const Rule rule = rule_of(queue->cfg, r.address);
            fmt::print("  {:<9}  {}  ({}, {})", state_name(e, r), r.address, rule.partner,
                       rule.level);
            if (!r.last_error.empty()) fmt::print("  {}", r.last_error);
            fmt::print("\n");
        }
    }
    fmt::print("{} message(s) in the queue, {} held.\n", queue->messages.size(), held);
    return 0;
}

int cmd_queue_show(const Common& common, const std::vector<std::string>& ids) {
    auto queue = read_queue(common);
    if (!queue) return 1;
    const std::int64_t now = clock::now_ms();
    int status = 0;
    for (const auto& id : ids) {
        auto it = std::find_if(queue->messages.begin(), queue->messages.end(),
                               [&](const Envelope& e) { return e.id == id; });
        if (it == queue->messages.end()) {
            fmt::print(stderr, "chainmail: no message {} in the queue\n", id);
            status = 1;
            continue;
        }
        const Envelope& e = *it;
        fmt::print("Queue-ID:     {}\n", e.id);
        fmt::print("Arrival:      {} ({} ago)\n", utc(e.arrival_ms), age(e.arrival_ms, now));
        fmt::print("Sender:       {}\n", e.sender.empty() ? "<>" : e.sender);
        fmt::print("Size:         {} bytes\n", e.size);
        fmt::print("Held:         {}\n", e.held ? "yes" : "no");
        fmt::print("Message-ID:   {}\n", e.message_id);
        fmt::print("Client:       {} ({}){}\n", e.client_ip, e.client_helo,
                   e.auth_user.empty() ? "" : ", authenticated as " + e.auth_user);
        fmt::print("Client TLS:   {}\n", e.client_tls.empty() ? "none" : e.client_tls);
        fmt::print("Body:         {}{}{}\n",
                   e.body == spool::BodyType::EightBitMime ? "8BITMIME" : "7BIT",
                   e.smtputf8 ? ", SMTPUTF8" : "", e.requiretls ? ", REQUIRETLS" : "");
        fmt::print("DSN:          RET={} ENVID={}\n",
                   e.ret == spool::Ret::Full   ? "FULL"
                   : e.ret == spool::Ret::Hdrs ? "HDRS"
                                               : "-",
                   e.envid.empty() ? "-" : e.envid);
        for (const auto& r : e.recipients) {
            const Rule rule = rule_of(queue->cfg, r.address);
            fmt::print("Recipient:    {}\n", r.address);
            fmt::print("  partner:    {}, level {}\n", rule.partner, rule.level);
            fmt::print("  state:      {}, {} attempt(s), next {}\n", state_name(e, r), r.attempts,
                       utc(r.next_attempt_ms));
            if (!r.orcpt.empty()) fmt::print("  ORCPT:      {}\n", r.orcpt);
            if (r.notify) {
                std::string n;
                if (r.notify & spool::kNotifyNever) n += "NEVER,";
                if (r.notify & spool::kNotifySuccess) n += "SUCCESS,";
                if (r.notify & spool::kNotifyFailure) n += "FAILURE,";
                if (r.notify & spool::kNotifyDelay) n += "DELAY,";
                n.pop_back();
                fmt::print("  NOTIFY:     {}\n", n);
            }
            if (!r.last_error.empty()) fmt::print("  last error: {}\n", r.last_error);
        }
        fmt::print("\n");
    }
    return status;
}

int cmd_queue_show_message(const Common& common, const std::vector<std::string>& ids) {
    auto cfg = load(common);
    if (!cfg) return 1;
    std::vector<spool::SpooledMessage> messages;
    try {
        messages = spool::read_spool_messages(cfg->spool, ids);
    } catch (const std::exception& e) {
        fmt::print(stderr, "chainmail: cannot read the spool {}: {}\n", cfg->spool, e.what());
        return 1;
    }
    // Several messages are framed by their size, so any bytes may follow.
    const bool framed = ids.size() > 1;
    int status = 0;
    for (const auto& m : messages) {
        if (m.error) {
            fmt::print(stderr, "chainmail: no message {} in the queue\n", m.id);
            status = 1;
            continue;
        }
        if (framed) fmt::print("Message: {} {}\n", m.id, m.bytes.size());
        std::fwrite(m.bytes.data(), 1, m.bytes.size(), stdout);
        if (framed) std::fputc('\n', stdout);
    }
    if (std::fflush(stdout) != 0) {
        fmt::print(stderr, "chainmail: cannot write the messages: {}\n", std::strerror(errno));
        return 1;
    }
    return status;
}

int cmd_queue_act(const Common& common, const std::string& action,
                  const std::vector<std::string>& ids, bool all) {
    auto cfg = load(common);
    if (!cfg) return 1;
    control::Request req;
    req.action = *outbound::parse_queue_action(action);
    req.ids = ids;
    req.all = all;
    // Hold, delete and bounce wait for an attempt in flight to stop; serve
    // bounds that wait itself (queue_control.cpp), this only guards a hang.
    auto answer = control::call(cfg->control_socket, req, std::chrono::minutes(20));
    if (auto* err = std::get_if<control::ClientError>(&answer)) {
        fmt::print(stderr, "chainmail: {}\n", err->message);
        return 1;
    }
    const control::Reply& reply = std::get<control::Reply>(answer);
    if (!reply.error.empty()) {
        fmt::print(stderr, "chainmail: chainmail serve refused the command: {}\n", reply.error);
        return 1;
    }
    if (all && reply.results.empty()) {
        fmt::print("Nothing to retry: no message waits for a later attempt.\n");
        return 0;
    }
    int status = 0;
    for (const outbound::ActionResult& r : reply.results) {
        switch (r.status) {
            case outbound::ActionStatus::Done:
            case outbound::ActionStatus::Unchanged:
                fmt::print("{}: {}\n", r.id, r.text);
                break;
            case outbound::ActionStatus::NotFound:
            case outbound::ActionStatus::Failed:
                fmt::print(stderr, "chainmail: {}: {}\n", r.id, r.text);
                status = 1;
                break;
        }
    }
    return status;
}

}  // namespace chainmail::cli
