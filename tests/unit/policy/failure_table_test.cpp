// The failure table, one row per rule: a failure on the last host of a
// fresh message under `on_tls_failure: defer`, with one thing changed.
#include <catch2/catch.hpp>

#include "policy/failure_table.hpp"

using namespace chainmail::policy;
using namespace std::chrono_literals;

namespace {

const FailureClock::time_point kArrival{std::chrono::hours(24 * 20000)};

struct Case {
    Trouble trouble;
    Situation situation;

    Case() {
        trouble = trouble_of(Outcome{Verdict::TlsFailure,
                                     AuthLabel::Plaintext,
                                     Reason::TlsaMismatch,
                                     "no TLSA record matched",
                                     {},
                                     {}});
        situation.arrival = kArrival;
        situation.now = kArrival + 10min;
        situation.max_lifetime = 24h;
    }
    Case& what(Happened h, Reason r) {
        trouble.what = h;
        trouble.reason = r;
        return *this;
    }
    Case& reply(int code, std::string_view enhanced) {
        trouble = trouble_of_reply(code, enhanced);
        return *this;
    }
    Case& hosts_left() {
        situation.hosts_left = true;
        return *this;
    }
    Case& skipped() {
        situation.host_skipped = true;
        return *this;
    }
    Case& on(OnTlsFailure o) {
        situation.on_tls_failure = o;
        return *this;
    }
    Case& fallback() {
        situation.fallback_next_hop = true;
        return *this;
    }
    Case& rerouted() {
        situation.rerouted = true;
        return *this;
    }
    Case& sts_unconfirmed() {
        situation.sts_unconfirmed = true;
        return *this;
    }
    Case& age(std::chrono::seconds a) {
        situation.now = kArrival + a;
        return *this;
    }
};

struct Row {
    const char* rule;
    Case c;
    Disposition step;
    RcptOutcome outcome;
    const char* status;
};

}  // namespace

TEST_CASE("the failure table, one row per rule") {
    using H = Happened;
    using D = Disposition;
    using O = RcptOutcome;
    const Row rows[] = {
        // --- the next hop's reply (RFC 5321 §4.2.1)
        {"a 5xx bounces with the peer's own status", Case{}.reply(550, "5.1.1"), D::Bounce,
         O::Bounced, "5.1.1"},
        {"a 5xx without an enhanced code is 5.0.0", Case{}.reply(554, ""), D::Bounce, O::Bounced,
         "5.0.0"},
        {"a 5xx bounces even with hosts left", Case{}.reply(550, "5.7.1").hosts_left(), D::Bounce,
         O::Bounced, "5.7.1"},
        {"a 4xx defers with the peer's status", Case{}.reply(451, "4.3.0"), D::Defer, O::Deferred,
         "4.3.0"},
        {"a 4xx without an enhanced code is 4.0.0", Case{}.reply(421, ""), D::Defer, O::Deferred,
         "4.0.0"},
        {"a 4xx whose code says 5 is 4.0.0", Case{}.reply(452, "5.2.2"), D::Defer, O::Deferred,
         "4.0.0"},
        {"a 2xx where delivery was due is unexpected: defer", Case{}.reply(250, "2.0.0"), D::Defer,
         O::Deferred, "4.0.0"},
        {"a 4xx past max_lifetime expires", Case{}.reply(451, "4.3.0").age(25h), D::Bounce,
         O::Expired, "5.4.7"},
        // --- temporary trouble: DNS, connection, no answer (RFC 5321 §5.1, §4.5.4.1)
        {"a temporary failure tries the next host",
         Case{}.what(H::TempFail, Reason::ConnectFailed).hosts_left(), D::NextHost, O::Deferred,
         "4.4.1"},
        {"a temporary failure on the last host defers",
         Case{}.what(H::TempFail, Reason::DnsTempFail), D::Defer, O::Deferred, "4.4.3"},
        {"a bogus DNSSEC answer defers, whatever on_tls_failure says",
         Case{}.what(H::TempFail, Reason::DnssecBogus).on(OnTlsFailure::Bounce), D::Defer,
         O::Deferred, "4.7.5"},
        {"a temporary failure never reroutes",
         Case{}.what(H::TempFail, Reason::Unknown).on(OnTlsFailure::Reroute).fallback(), D::Defer,
         O::Deferred, "4.0.0"},
        {"a temporary failure past max_lifetime expires",
         Case{}.what(H::TempFail, Reason::ConnectFailed).age(24h), D::Bounce, O::Expired, "5.4.7"},
        {"with hosts left nothing expires yet",
         Case{}.what(H::TempFail, Reason::ConnectFailed).hosts_left().age(48h), D::NextHost,
         O::Deferred, "4.4.1"},
        // --- the destination refuses mail (RFC 7505 §3, RFC 5321 §5.1)
        {"a null MX bounces", Case{}.what(H::DestinationRefused, Reason::NullMx), D::Bounce,
         O::Bounced, "5.1.10"},
        {"a nonexistent domain bounces",
         Case{}.what(H::DestinationRefused, Reason::NoSuchDomain).hosts_left(), D::Bounce,
         O::Bounced, "5.1.2"},
        {"no bounce under an MTA-STS policy the live record did not confirm",
         Case{}.what(H::DestinationRefused, Reason::NullMx).sts_unconfirmed(), D::Defer,
         O::Deferred, "4.1.10"},
        // --- a TLS failure: every host first, then on_tls_failure
        {"a TLS failure tries the next host", Case{}.on(OnTlsFailure::Bounce).hosts_left(),
         D::NextHost, O::Deferred, "4.7.5"},
        {"on the last host, on_tls_failure: defer", Case{}, D::Defer, O::Deferred, "4.7.5"},
        {"on the last host, on_tls_failure: bounce", Case{}.on(OnTlsFailure::Bounce), D::Bounce,
         O::Bounced, "5.7.5"},
        {"bounce, but a host failed only temporarily: defer",
         Case{}.on(OnTlsFailure::Bounce).skipped(), D::Defer, O::Deferred, "4.7.5"},
        {"bounce, but under an unconfirmed MTA-STS policy: defer",
         Case{}.on(OnTlsFailure::Bounce).sts_unconfirmed(), D::Defer, O::Deferred, "4.7.5"},
        {"encryption missing is X.7.10",
         Case{}.what(H::TlsFailure, Reason::StartTlsNotOffered).on(OnTlsFailure::Bounce), D::Bounce,
         O::Bounced, "5.7.10"},
        {"no usable TLSA is X.7.4",
         Case{}.what(H::TlsFailure, Reason::NoUsableTlsa).on(OnTlsFailure::Bounce), D::Bounce,
         O::Bounced, "5.7.4"},
        {"REQUIRETLS not offered is X.7.30",
         Case{}.what(H::TlsFailure, Reason::RequireTlsNotOffered).on(OnTlsFailure::Bounce),
         D::Bounce, O::Bounced, "5.7.30"},
        {"REQUIRETLS not offered bounces even under on_tls_failure: defer",
         Case{}.what(H::TlsFailure, Reason::RequireTlsNotOffered), D::Bounce, O::Bounced, "5.7.30"},
        {"REQUIRETLS toward an unauthenticated hop bounces under reroute too",
         Case{}
             .what(H::TlsFailure, Reason::RequireTlsUnauthenticated)
             .on(OnTlsFailure::Reroute)
             .fallback(),
         D::Bounce, O::Bounced, "5.7.30"},
        {"REQUIRETLS refused with hosts left: the next host first",
         Case{}.what(H::TlsFailure, Reason::RequireTlsNotOffered).hosts_left(), D::NextHost,
         O::Deferred, "4.7.30"},
        {"REQUIRETLS refused, a host failed only temporarily: defer",
         Case{}.what(H::TlsFailure, Reason::RequireTlsNotOffered).skipped(), D::Defer, O::Deferred,
         "4.7.30"},
        {"REQUIRETLS refused under on_tls_failure: hold is held",
         Case{}.what(H::TlsFailure, Reason::RequireTlsUnauthenticated).on(OnTlsFailure::Hold),
         D::Hold, O::Held, "4.7.30"},
        {"on_tls_failure: hold", Case{}.on(OnTlsFailure::Hold), D::Hold, O::Held, "4.7.5"},
        {"a held recipient never expires", Case{}.on(OnTlsFailure::Hold).age(48h), D::Hold, O::Held,
         "4.7.5"},
        {"on_tls_failure: reroute with a fallback_next_hop",
         Case{}.on(OnTlsFailure::Reroute).fallback(), D::Reroute, O::Deferred, "4.7.5"},
        {"reroute with hosts left: the next host first",
         Case{}.on(OnTlsFailure::Reroute).fallback().hosts_left(), D::NextHost, O::Deferred,
         "4.7.5"},
        {"reroute without a fallback_next_hop defers", Case{}.on(OnTlsFailure::Reroute), D::Defer,
         O::Deferred, "4.7.5"},
        {"on the fallback route itself, reroute defers",
         Case{}.on(OnTlsFailure::Reroute).fallback().rerouted(), D::Defer, O::Deferred, "4.7.5"},
        {"a deferred TLS failure past max_lifetime expires", Case{}.age(24h + 1s), D::Bounce,
         O::Expired, "5.4.7"},
        // --- our own trouble (RFC 3463 §3.5)
        {"the spooled copy cannot be read: defer with 4.3.0",
         Case{}.what(H::LocalError, Reason::Unknown), D::Defer, O::Deferred, "4.3.0"},
        {"the spooled copy cannot be read at max_lifetime: expired",
         Case{}.what(H::LocalError, Reason::Unknown).age(24h), D::Bounce, O::Expired, "5.4.7"},
    };
    for (const Row& r : rows) {
        INFO(r.rule);
        const NextStep n = next_step(r.c.trouble, r.c.situation);
        CHECK(to_string(n.step) == to_string(r.step));
        CHECK(to_string(n.outcome) == to_string(r.outcome));
        CHECK(n.status == r.status);
    }
}

TEST_CASE("a verdict of judge() or check_destination() as trouble") {
    const auto what = [](Verdict v) { return to_string(trouble_of(Outcome{v}).what); };
    CHECK(what(Verdict::TlsFailure) == "tls-failure");
    CHECK(what(Verdict::TempFail) == "temp-fail");
    CHECK(what(Verdict::PermFail) == "destination-refused");
    // Not failures: asked anyway, the answer is the safe one.
    CHECK(what(Verdict::Deliver) == "temp-fail");
    CHECK(what(Verdict::RetryWithoutTls) == "temp-fail");
}

TEST_CASE("enhanced status codes per failure reason (RFC 3463, RFC 5248, RFC 7505, RFC 8689)") {
    struct Row {
        Reason reason;
        const char* permanent;
    };
    const Row rows[] = {
        {Reason::StartTlsNotOffered, "5.7.10"},
        {Reason::TlsVersionTooLow, "5.7.10"},
        {Reason::HandshakeFailed, "5.7.10"},
        {Reason::CertificateChain, "5.7.5"},
        {Reason::CertificateName, "5.7.5"},
        {Reason::TlsaMismatch, "5.7.5"},
        {Reason::FingerprintMismatch, "5.7.5"},
        {Reason::NoUsableTlsa, "5.7.4"},
        {Reason::NoDnssec, "5.7.4"},
        {Reason::NullMx, "5.1.10"},
        {Reason::Expired, "5.4.7"},
        {Reason::RequireTlsNotOffered, "5.7.30"},
        {Reason::RequireTlsUnauthenticated, "5.7.30"},
    };
    for (const Row& r : rows) {
        INFO(to_string(r.reason));
        CHECK(enhanced_status(r.reason, true) == r.permanent);
    }
    CHECK(enhanced_status(Reason::Expired, false) == "4.4.7");
    CHECK(enhanced_status(Reason::DnsTempFail, false) == "4.4.3");
    CHECK(operator_status(RcptOutcome::Held) == "4.0.0");
    CHECK(operator_status(RcptOutcome::Cancelled) == "4.0.0");
    CHECK(operator_status(RcptOutcome::Bounced) == "5.0.0");
    CHECK(delivered_status("") == "2.0.0");
    // What our own client refuses to send fails with these replies.
    const auto unsendable = [](Unsendable u) {
        const UnsendableReply r = unsendable_reply(u);
        return std::to_string(r.code) + " " + r.status;
    };
    CHECK(unsendable(Unsendable::TooBig) == "552 5.3.4");
    CHECK(unsendable(Unsendable::RequireTls) == "550 5.7.30");
    CHECK(unsendable(Unsendable::NulBytes) == "554 5.6.0");
    CHECK(unsendable(Unsendable::Utf8Envelope) == "553 5.6.7");
    // ... and as a peer's refusal they bounce with that status (RFC 3464 §2.3.4).
    CHECK(next_step(trouble_of_reply(552, "5.3.4"), {}).status == "5.3.4");
    CHECK(delivered_status("2.6.0") == "2.6.0");
}

TEST_CASE("the reports a sender asked for (RFC 3461 §4.1)") {
    struct Row {
        const char* notify;
        Notify n;
        RcptOutcome outcome;
        bool wanted;
    };
    const Notify none{};
    const Notify never{true, false, false, false};
    const Notify success{false, true, false, false};
    const Notify failure{false, false, true, false};
    const Notify delay{false, false, false, true};
    const Row rows[] = {
        {"none", none, RcptOutcome::Bounced, true},
        {"none", none, RcptOutcome::Expired, true},
        {"none", none, RcptOutcome::Deferred, true},
        {"none", none, RcptOutcome::Held, true},
        {"none", none, RcptOutcome::Delivered, false},
        {"none", none, RcptOutcome::Cancelled, false},
        {"never", never, RcptOutcome::Bounced, false},
        {"never", never, RcptOutcome::Deferred, false},
        {"success", success, RcptOutcome::Delivered, true},
        {"success", success, RcptOutcome::Bounced, false},
        {"failure", failure, RcptOutcome::Expired, true},
        {"failure", failure, RcptOutcome::Deferred, false},
        {"delay", delay, RcptOutcome::Held, true},
        {"delay", delay, RcptOutcome::Bounced, false},
    };
    for (const Row& r : rows) {
        INFO(r.notify << " " << to_string(r.outcome));
        CHECK(report_wanted(r.outcome, r.n) == r.wanted);
    }
}
