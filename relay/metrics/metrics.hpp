// metrics: chainmail's own instruments, in one process-wide registry that
// `serve` exposes at metrics.listen. Each call says what happened where it
// happens; label values come from closed enums or from the configuration, so
// cardinality stays bounded. Every metric is described in docs/metrics.md.
#pragma once

#include <string_view>

#include "policy/dns_facts.hpp"
#include "policy/failure_table.hpp"
#include "relay/metrics/registry.hpp"

namespace chainmail::metrics {

// The registry behind every call below (families made on first use).
Registry& registry();

// --- inbound -----------------------------------------------------------------
void inbound_connection_opened();
void inbound_connection_closed();
void message_accepted();  // 250 after DATA: durable in the spool

// --- delivery ------------------------------------------------------------------
// One call per recipient per attempt (settle), like the delivery log's lines.
struct Settled {
    policy::RcptOutcome outcome = policy::RcptOutcome::Deferred;
    std::string_view tls_version;  // Delivered over TLS: "TLSv1.3"; empty: plaintext
    std::string_view tls_auth;     // the delivery log's tls.auth ("none": encrypted only)
    double delay_s = 0;            // from arrival to this attempt
};
void settled(const Settled& s);
// One candidate host refused for lack of the required protection.
void tls_failure(std::string_view partner, policy::Reason reason);

// A partner's protection to a domain got weaker than on earlier days (the
// report's regression rule, live: log::ProtectionWatch). `now` is
// policy::to_string(Protection): failing, plaintext, encrypted, authenticated.
void protection_regression(std::string_view partner, std::string_view now);

// --- DNS ---------------------------------------------------------------------
enum class DnsType { Mx, A, Aaaa, Tlsa };
void dns_lookup(DnsType type, policy::DnsState state, bool secure);

// The resolver's DNSSEC self-check: does it validate (a signed name comes
// back secure, a broken one bogus)? Unknown until the first check.
void dnssec_selfcheck(bool ok);

// --- queue (set at scrape time by a collector that serve installs) ----------
void queue_size(double active, double held, double oldest_age_s);

// chainmail_build_info{version} 1.
void build_info(std::string_view version);

}  // namespace chainmail::metrics
