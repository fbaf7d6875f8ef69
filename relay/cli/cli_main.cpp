#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "relay/cli/cli.hpp"

#ifndef CHAINMAIL_VERSION
#define CHAINMAIL_VERSION "0.1.0"
#endif

namespace chainmail::cli {

namespace {
constexpr const char* kDefaultConfig = "/etc/chainmail/chainmail.yaml";
}

config::LoadResult load_result(const Common& common) {
    return common.default_config
               ? config::load_config_text(config::embedded_default_yaml(), "(embedded default)")
               : config::load_config_file(common.config_path,
                                          {.check_files = !common.no_file_checks});
}

std::optional<config::Config> load(const Common& common) {
    config::LoadResult r = load_result(common);
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&r)) {
        for (const auto& e : *errors) fmt::print(stderr, "{}\n", e.str());
        return std::nullopt;
    }
    return std::get<config::Config>(std::move(r));
}

int run(int argc, char** argv) {
    setup_operator_log();
    CLI::App app{
        "chainmail: outbound SMTP relay that enforces a TLS policy per partner\n"
        "and returns a clear non-delivery report instead of sending in the clear."};
    app.set_version_flag("--version", std::string("chainmail ") + CHAINMAIL_VERSION);
    app.require_subcommand(1);

    Common common;
    if (const char* env = std::getenv("CHAINMAIL_CONFIG"); env && *env)
        common.config_path = env;
    else
        common.config_path = kDefaultConfig;

    auto add_config = [&](CLI::App* sub) {
        sub->add_option("-c,--config", common.config_path,
                        "configuration file (default /etc/chainmail/chainmail.yaml, or "
                        "$CHAINMAIL_CONFIG)");
        sub->add_flag("--default-config", common.default_config,
                      "use the embedded default configuration (SMTP on 127.0.0.1:2525, spool "
                      "./spool) instead of a file");
    };

    auto* serve =
        app.add_subcommand("serve", "run the relay in the foreground (systemd Type=notify)");
    add_config(serve);
    serve->add_flag("--no-delivery", common.no_delivery,
                    "accept and queue mail but deliver nothing (maintenance, benchmarks); "
                    "a later serve without it delivers the queue");

    auto* check = app.add_subcommand(
        "check-config", "validate the configuration; errors as FILE:LINE:COL: message, exit 1");
    add_config(check);
    check->add_flag("--no-file-checks", common.no_file_checks,
                    "do not require the files the configuration names to exist here "
                    "(for a file meant for another machine)");
    check->add_flag("--online", common.online,
                    "also validate dns.dnssec_check_name through the configured resolver "
                    "(the DNSSEC self-check serve runs at start-up); exit 1 when it fails");

    auto* config = app.add_subcommand(
        "config",
        "print the effective configuration, every default filled in, as YAML that "
        "check-config accepts again");
    add_config(config);
    config->add_flag("--no-file-checks", common.no_file_checks,
                     "do not require the files the configuration names to exist here");

    int health_timeout = 5;
    auto* health = app.add_subcommand(
        "health",
        "ask the running server whether it answers: greeting and NOOP on the first listener "
        "(exit 0 alive, 1 not); for a container HEALTHCHECK or monitoring");
    add_config(health);
    health->add_option("--timeout", health_timeout, "seconds to wait for each answer (default 5)")
        ->check(CLI::Range(1, 300));

    std::vector<std::string> domains;
    auto* policy = app.add_subcommand(
        "policy", "which partner and TLS level apply to each domain, and why (config only)");
    add_config(policy);
    policy->add_option("DOMAIN", domains, "recipient domains")->required();

    ProbeOptions popt;
    auto* probe = app.add_subcommand(
        "probe",
        "live check of destinations, no mail sent (EHLO, STARTTLS, QUIT only): the rule that "
        "applies, MX and DNSSEC, TLSA, MTA-STS, STARTTLS, TLS version and certificate, and what "
        "each of the nine TLS levels would decide (the same policy code as delivery)");
    add_config(probe);
    probe->add_option("TARGET", popt.targets, "recipient domains or addresses");
    probe
        ->add_option("--port", popt.port,
                     "SMTP port of the MX hosts (default delivery.port); a configured "
                     "next_hop keeps its own")
        ->check(CLI::Range(1, 65535));
    probe->add_flag("--json", popt.json,
                    "one JSON object per target, one per line, with \"levels\" and "
                    "\"strongest\"");
    probe->add_flag("--partners", popt.partners,
                    "every partner domain of the configuration, a few at a time, with a "
                    "progress line on stderr: one table");
    probe->add_option("--html", popt.html,
                      "with --partners: also write the table as one self-contained HTML page");

    ReportOptions ropt;
    auto* report = app.add_subcommand(
        "report",
        "per partner and domain: deliveries by TLS and authentication, failures, advice, "
        "regressions");
    add_config(report);
    report->add_option("--since", ropt.since,
                       "period to cover: 30d, 12h, 2026-11-01 (default 30d)");
    report->add_option("--until", ropt.until, "end of the period (default now)");
    report->add_option("--partner", ropt.partner, "only this partner");
    report->add_flag("--json", ropt.json, "one JSON document instead of the table");
    report->add_option("--html", ropt.html,
                       "also write the report as one self-contained HTML page to this file");
    report->add_option("LOGFILE", ropt.files,
                       "delivery log files, plain or gzip, several relays' at once (default: "
                       "log.delivery_log and its rotated files)");

    auto* queue = app.add_subcommand("queue", "inspect and act on the queue");
    queue->require_subcommand(1);
    bool json = false, all = false;
    std::vector<std::string> ids;
    auto* qlist =
        queue->add_subcommand("list", "the queue: id, age, sender, recipients, state, last error");
    add_config(qlist);
    qlist->add_flag("--json", json, "one JSON object per message");
    auto* qshow = queue->add_subcommand("show", "the envelope and state of messages");
    add_config(qshow);
    qshow->add_option("ID", ids, "queue ids")->required();
    bool show_message = false;
    qshow->add_flag("--message", show_message,
                    "print the message bytes as queued (Received: header included) instead of "
                    "the envelope. One ID: exactly those bytes. Several: each as a line "
                    "'Message: ID SIZE', then exactly SIZE bytes, then a newline");
    // The commands that change the queue go through the running serve.
    const std::string via_serve =
        "\nAsks the running chainmail serve through its control socket (control_socket); "
        "exits 1 when serve is not running.";
    auto* qretry = queue->add_subcommand(
        "retry", "retry now: deferred recipients of these messages are attempted at once" +
                     via_serve + " Held messages stay held (use release).");
    add_config(qretry);
    auto* retry_ids = qretry->add_option("ID", ids, "queue ids");
    auto* retry_all = qretry->add_flag("--all", all, "every message waiting for a later retry");
    retry_ids->excludes(retry_all);
    // What a Postfix operator types first (postqueue -f, postfix flush).
    auto* qflush = queue->add_subcommand(
        "flush", "retry every message waiting for a later retry now: the same as retry --all" +
                     via_serve + " Held messages stay held (use release).");
    add_config(qflush);
    auto* qhold = queue->add_subcommand(
        "hold",
        "hold messages until released: no attempt starts, one in flight stops before "
        "MAIL FROM or the final dot" +
            via_serve);
    add_config(qhold);
    qhold->add_option("ID", ids, "queue ids")->required();
    auto* qrelease = queue->add_subcommand(
        "release", "release held messages: they are attempted at once" + via_serve);
    add_config(qrelease);
    qrelease->add_option("ID", ids, "queue ids")->required();
    auto* qdelete = queue->add_subcommand(
        "delete",
        "delete messages without a report to the sender; never delivered afterwards, "
        "also not by an attempt in flight (logged as deleted)" +
            via_serve);
    add_config(qdelete);
    qdelete->add_option("ID", ids, "queue ids")->required();
    auto* qbounce = queue->add_subcommand(
        "bounce",
        "give up now: the recipients not yet delivered fail with status 5.0.0 and the "
        "sender gets a non-delivery report (like Exim's -Mg)" +
            via_serve);
    add_config(qbounce);
    qbounce->add_option("ID", ids, "queue ids")->required();

    LogOptions lopt;
    auto* log = app.add_subcommand("log", "read the delivery log (and its rotated, gzipped files)");
    add_config(log);
    log->add_option("--status", lopt.filter.status, "only this event")
        ->check(CLI::IsMember({"delivered", "deferred", "bounced", "held", "deleted", "expired",
                               "received", "ndr_sent"}));
    log->add_option("--partner", lopt.filter.partner, "partner name");
    log->add_option("--rcpt", lopt.filter.rcpt,
                    "recipient address, domain, or .domain for its subdomains");
    log->add_option("--from", lopt.filter.from, "sender address or domain; <> the null sender");
    log->add_option("--queue-id", lopt.filter.queue_id,
                    "a message's queue id (also finds the bounce that produced that report)");
    log->add_option("--since", lopt.since, "from: 2h, 30m, 7d, today, 2026-11-22 13:00, ...");
    log->add_option("--until", lopt.until, "up to: the same forms");
    log->add_flag("--json", lopt.json, "the JSON lines as they stand in the log");
    log->add_flag("--follow,-f", lopt.follow,
                  "keep reading new lines as they are written, across log rotation "
                  "(from now on; with --since, first the past)");
    log->add_option("LOGFILE", lopt.files,
                    "log files to read, plain or gzip (default: log.delivery_log and its "
                    "rotated files)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ExtrasError& e) {
        // `chainmail check-config FILE` is what a newcomer types first; CLI11
        // would only say the file "was not expected". Show the right command.
        for (auto* sub : {check, config}) {
            auto extra = sub->remaining();
            if (sub->parsed() && extra.size() == 1 && !extra[0].starts_with("-") &&
                sub->count("--config") == 0) {
                fmt::print(stderr, "chainmail {0}: name the file with -c: chainmail {0} -c {1}\n",
                           sub->get_name(), extra[0]);
                return 2;
            }
        }
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    if (serve->parsed()) return cmd_serve(common);
    if (check->parsed()) return cmd_check_config(common);
    if (config->parsed()) return cmd_config(common);
    if (health->parsed()) return cmd_health(common, health_timeout);
    if (policy->parsed()) return cmd_policy(common, domains);
    if (probe->parsed()) {
        if (popt.partners == !popt.targets.empty() || (!popt.html.empty() && !popt.partners)) {
            fmt::print(stderr,
                       "chainmail probe: name domains or addresses, or --partners (--html goes "
                       "with --partners)\n");
            return 2;
        }
        return cmd_probe(common, popt);
    }
    if (report->parsed()) return cmd_report(common, ropt);
    if (qlist->parsed()) return cmd_queue_list(common, json);
    if (qshow->parsed())
        return show_message ? cmd_queue_show_message(common, ids) : cmd_queue_show(common, ids);
    if (qretry->parsed() && ids.empty() && !all) {
        fmt::print(stderr, "chainmail queue retry: name queue ids, or --all\n");
        return 2;
    }
    if (qflush->parsed()) return cmd_queue_act(common, "retry", ids, true);
    for (auto* q : {qretry, qhold, qrelease, qdelete, qbounce})
        if (q->parsed()) return cmd_queue_act(common, q->get_name(), ids, all);
    if (log->parsed()) return cmd_log(common, lopt);
    return 2;
}

}  // namespace chainmail::cli
