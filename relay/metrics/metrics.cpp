// metrics: the instruments, their names and help texts (docs/metrics.md).
#include "relay/metrics/metrics.hpp"

namespace chainmail::metrics {

namespace {

using policy::DnsState;

// Seconds from arrival to delivery: a fast relay hop up to the queue lifetime.
const std::vector<double> kLatencyBounds{0.1, 0.25, 0.5, 1,    2.5,   5,     10,    30,
                                         60,  300,  900, 3600, 14400, 86400, 432000};

using policy::RcptOutcome;

// The `outcome` label: the recipient outcome's name (a cancelled attempt is
// never settled; counted as deferred should it ever be).
std::string_view outcome_name(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Cancelled:
            return to_string(RcptOutcome::Deferred);
        case RcptOutcome::Delivered:
        case RcptOutcome::Deferred:
        case RcptOutcome::Bounced:
        case RcptOutcome::Held:
        case RcptOutcome::Expired:
            return to_string(o);
    }
    return "deferred";
}

std::string_view dns_type_name(DnsType t) {
    switch (t) {
        case DnsType::Mx:
            return "mx";
        case DnsType::A:
            return "a";
        case DnsType::Aaaa:
            return "aaaa";
        case DnsType::Tlsa:
            return "tlsa";
    }
    return "a";
}

// RFC 4035 §4.3 states, with "error" for an answer that never came (SERVFAIL,
// timeout): a denial (NXDOMAIN/NODATA) is secure or insecure like any answer.
std::string_view dnssec_name(DnsState s, bool secure) {
    switch (s) {
        case DnsState::Secure:
            return "secure";
        case DnsState::Insecure:
            return "insecure";
        case DnsState::NotFound:
            return secure ? "secure" : "insecure";
        case DnsState::Bogus:
            return "bogus";
        case DnsState::TempFail:
            return "error";
    }
    return "error";
}

// Values from peers pass through closed sets only.
std::string_view tls_version_label(std::string_view v) {
    if (v.empty()) return "none";
    for (std::string_view known : {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"})
        if (v == known) return known;
    return "other";
}

std::string_view tls_auth_label(std::string_view version, std::string_view a) {
    if (version.empty()) return "plaintext";
    for (std::string_view known : {"dane-ee", "dane-ta", "pkix", "mta-sts", "fingerprint", "none"})
        if (a == known) return known;
    return a.empty() ? "none" : "other";
}

struct Instruments {
    Registry reg;
    Gauge& connections_open =
        reg.gauge("chainmail_inbound_connections_open", "Inbound SMTP connections open now.", {})
            .with({});
    Counter& connections =
        reg.counter("chainmail_inbound_connections", "Inbound SMTP connections accepted.", {})
            .with({});
    Counter& accepted = reg.counter("chainmail_messages_accepted",
                                    "Messages accepted (250 after DATA, durable in the spool).", {})
                            .with({});
    Family<Counter>& attempts = reg.counter(
        "chainmail_delivery_attempts",
        "Delivery attempts per recipient, by result (one per delivery log line).", {"status"});
    Family<Counter>& deliveries =
        reg.counter("chainmail_deliveries",
                    "Recipients delivered, by TLS version and what authenticated the "
                    "receiving server.",
                    {"tls_version", "tls_auth"});
    Family<Histogram>& latency = reg.histogram(
        "chainmail_delivery_latency_seconds",
        "Seconds from a message's arrival to its delivery, per recipient.", {}, kLatencyBounds);
    Family<Counter>& tls_failures =
        reg.counter("chainmail_tls_failures",
                    "Candidate hosts refused for lack of the required TLS, by partner and reason.",
                    {"partner", "reason"});
    Family<Counter>& regressions =
        reg.counter("chainmail_protection_regressions",
                    "Times a partner's protection to a domain got weaker than on earlier days, "
                    "by partner and the weaker protection.",
                    {"partner", "now"});
    Family<Gauge>& queue = reg.gauge(
        "chainmail_queue_messages", "Messages in the queue, by state (active or held).", {"state"});
    Gauge& oldest = reg.gauge("chainmail_queue_oldest_message_age_seconds",
                              "Age of the oldest message in the queue; 0 when it is empty.", {})
                        .with({});
    Family<Counter>& dns = reg.counter("chainmail_dns_lookups",
                                       "DNS lookups by record type and DNSSEC state of the answer.",
                                       {"type", "dnssec"});
    Family<Gauge>& selfcheck =
        reg.gauge("chainmail_dnssec_selfcheck_ok",
                  "1 when the resolver's DNSSEC self-check passed, 0 when it failed.", {});
    Family<Gauge>& build = reg.gauge("chainmail_build_info", "The running version.", {"version"});

    Instruments() {
        // Present (at 0) from the first scrape, so rate() and alerts see them.
        for (RcptOutcome o : {RcptOutcome::Delivered, RcptOutcome::Deferred, RcptOutcome::Bounced,
                              RcptOutcome::Held, RcptOutcome::Expired})
            attempts.with({outcome_name(o)});
        latency.with({});
        for (std::string_view s : {"active", "held"}) queue.with({s});
    }
};

Instruments& instruments() {
    static Instruments i;
    return i;
}

}  // namespace

Registry& registry() {
    return instruments().reg;
}

void inbound_connection_opened() {
    instruments().connections.inc();
    instruments().connections_open.add(1);
}

void inbound_connection_closed() {
    instruments().connections_open.add(-1);
}

void message_accepted() {
    instruments().accepted.inc();
}

void settled(const Settled& s) {
    Instruments& m = instruments();
    m.attempts.with({outcome_name(s.outcome)}).inc();
    if (s.outcome != RcptOutcome::Delivered) return;
    m.deliveries.with({tls_version_label(s.tls_version), tls_auth_label(s.tls_version, s.tls_auth)})
        .inc();
    m.latency.with({}).observe(s.delay_s);
}

void tls_failure(std::string_view partner, policy::Reason reason) {
    instruments()
        .tls_failures.with({partner.empty() ? "defaults" : partner, policy::to_string(reason)})
        .inc();
}

void protection_regression(std::string_view partner, std::string_view now) {
    instruments().regressions.with({partner.empty() ? "defaults" : partner, now}).inc();
}

void dns_lookup(DnsType type, policy::DnsState state, bool secure) {
    instruments().dns.with({dns_type_name(type), dnssec_name(state, secure)}).inc();
}

void dnssec_selfcheck(bool ok) {
    instruments().selfcheck.with({}).set(ok ? 1 : 0);
}

void queue_size(double active, double held, double oldest_age_s) {
    Instruments& m = instruments();
    m.queue.with({"active"}).set(active);
    m.queue.with({"held"}).set(held);
    m.oldest.set(oldest_age_s);
}

void build_info(std::string_view version) {
    instruments().build.with({version}).set(1);
}

}  // namespace chainmail::metrics
