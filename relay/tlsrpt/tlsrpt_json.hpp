// tlsrpt_json: the RFC 8460 §4.4 aggregate report of one recipient domain for
// one period, and the counts file that keeps periods across restarts. Pure:
// no I/O, no clock; a damaged counts file reads as nothing (never throws).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/tlsrpt.hpp"

namespace chainmail::tlsrpt {

struct ReportMeta {
    std::string organization;  // organization-name
    std::string contact;       // contact-info
    std::string submitter;     // our host name: the report-id's and mail's submitter
};

// "2026-12-02T00:00:00Z" (RFC 3339, UTC).
std::string utc_datetime(std::int64_t unix_s);

// §4.4 report-id: unique per domain and period, e.g.
// "2026-12-02T00:00:00Z_example.nl@relay.gemeente.nl".
std::string report_id(const policy::TlsrptPeriod& period, const std::string& domain,
                      const std::string& submitter);

// The report of `domain` in `period`: every policy of the domain with its
// summary and failure details. end-datetime is the last second of the period.
nlohmann::json report_json(const policy::TlsrptPeriod& period, const std::string& domain,
                           const ReportMeta& meta);

// The counts file: every period not yet reported, one JSON document.
std::string encode_periods(const std::vector<policy::TlsrptPeriod>& periods);
std::optional<std::vector<policy::TlsrptPeriod>> decode_periods(const std::string& text);

}  // namespace chainmail::tlsrpt
