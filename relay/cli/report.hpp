// report: `chainmail report`'s model. report_tally sums the delivery log per
// partner and destination domain and per day; build_report() adds advice and
// regressions (policy/); report_text, report_json and report_html print it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "policy/protection.hpp"
#include "policy/report_advice.hpp"
#include "relay/log/log_line.hpp"

namespace chainmail::cli {

struct Counts {
    std::uint64_t messages = 0;    // distinct queue ids with a final outcome
    std::uint64_t recipients = 0;  // final outcomes: delivered + bounced + expired
    std::uint64_t delivered = 0, deferred = 0, bounced = 0, expired = 0;
    std::uint64_t would_fail = 0, tls_failures = 0, old_tls = 0;
    std::array<std::uint64_t, policy::kAuthLabels> by_auth{};  // deliveries
    std::map<std::string, std::uint64_t> by_version;           // deliveries; "plaintext"
    std::map<std::string, std::uint64_t> deferred_by_reason, bounced_by_reason,
        would_fail_by_reason;
    std::string first, last;  // log times (UTC, the log's form)
    std::string policy;       // the level in the last line

    void add(const Counts& o);
};

struct Row {
    std::string partner, domain;  // domain empty: the partner's total
    Counts c;
    std::map<std::int64_t, policy::DayProtection> days;
};

class Tally {
  public:
    void add(const log::LogRecord& r);
    std::map<std::pair<std::string, std::string>, Row> rows;
    std::uint64_t received = 0;  // `received` lines: messages accepted

  private:
    std::unordered_set<std::uint64_t> seen_;  // (row, queue id) hashes, for `messages`
    std::string day_text_;                    // the last line's date, and its day number
    std::int64_t day_ = 0;
};

struct ReportRow {
    Row row;
    std::string mode;  // "enforce", "testing", "" when the configuration was not read
    std::optional<policy::TlsLevel> safe;
    std::vector<policy::Advice> advice;
    std::vector<policy::Regression> regressions;
};

struct ReportGroup {
    ReportRow total;
    std::vector<ReportRow> domains;
};

struct Report {
    std::int64_t since_ms = 0, until_ms = 0;
    std::int64_t days = 0;  // length of the period, rounded up
    std::vector<std::string> files;
    std::uint64_t lines = 0, damaged = 0, received = 0;
    std::string damage;  // the reader's summary, "" when none
    std::string config_note;
    std::vector<ReportGroup> groups;          // by partner name, "defaults" last
    std::vector<const ReportRow*> plaintext;  // domains with plaintext deliveries, most first
    std::vector<const ReportRow*> regressed;  // domains with regressions
};

// Advice, safe level and regressions for each row; `modes`: partner → mode.
Report build_report(const Tally& t, const std::map<std::string, std::string>& modes,
                    std::int64_t since_ms, std::int64_t until_ms);

// The most frequent key of a by-reason map ("" for none).
std::string top_of(const std::map<std::string, std::uint64_t>& m);

std::string report_text(const Report& r);
std::string report_json(const Report& r);
std::string report_html(const Report& r);

}  // namespace chainmail::cli
