// log_filter: the filters of `chainmail log` (and `report --partner`): which
// records match, and the cheapest prefilter that keeps every match, so that
// the reader parses only lines that can match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "relay/log/log_line.hpp"
#include "relay/log/log_reader.hpp"

namespace chainmail::log {

struct LogFilter {
    std::string status;    // an event name: delivered, deferred, bounced, held, expired, ...
    std::string partner;   // the partner's name, exactly
    std::string rcpt;      // an address, a domain, or ".domain" (the domain's subdomains)
    std::string from;      // the same, or "<>" for the null sender
    std::string queue_id;  // the message's id, or the id of the NDR a bounce produced
    std::optional<std::int64_t> since_ms, until_ms;
};

// Does `addr` match `want` (address, domain or ".domain")? ASCII case folded.
bool address_matches(std::string_view addr, std::string_view want);

// Every record that matches() contains the prefilter's needle and lies in its window.
Prefilter prefilter_for(const LogFilter& f);
bool matches(const LogFilter& f, const LogRecord& r);

}  // namespace chainmail::log
