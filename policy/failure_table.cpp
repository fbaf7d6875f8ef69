// failure_table: the rules in the order they apply, each beside its RFC.
// The status codes (RFC 3463) that this relay gives a recipient live here.
#include "policy/failure_table.hpp"

namespace chainmail::policy {
namespace {

// The class-less part of the enhanced status code ("7.10" for "5.7.10").
std::string_view status_tail(Reason r) {
    switch (r) {
        case Reason::StartTlsNotOffered:
        case Reason::StartTlsRefused:
        case Reason::HandshakeFailed:
        case Reason::TlsVersionTooLow:
            return "7.10";  // RFC 5248 X.7.10: encryption needed
        case Reason::CertificateChain:
        case Reason::CertificateName:
        case Reason::FingerprintMismatch:
        case Reason::TlsaMismatch:
        case Reason::MtaStsMxMismatch:
            return "7.5";  // RFC 3463 X.7.5: cryptographic failure
        case Reason::NoUsableTlsa:
        case Reason::NoDnssec:
            return "7.4";  // RFC 3463 X.7.4: security features not supported
        case Reason::RequireTlsNotOffered:
        case Reason::RequireTlsUnauthenticated:
            return "7.30";  // RFC 8689 §7 (IANA): REQUIRETLS support required
        case Reason::DnssecBogus:
            return "7.5";
        case Reason::DnsTempFail:
            return "4.3";  // RFC 3463 X.4.3: directory server failure
        case Reason::ConnectFailed:
        case Reason::NoAddress:
            return "4.1";  // X.4.1: no answer from host
        case Reason::NullMx:
            return "1.10";  // RFC 7505 §4.2
        case Reason::NoSuchDomain:
            return "1.2";  // X.1.2: bad destination system address
        case Reason::Expired:
            return "4.7";        // X.4.7: delivery time expired
        case Reason::Cancelled:  // RFC 3463 §3.1: no subject code fits an operator's decision
        case Reason::None:
        case Reason::Unknown:
            return "0.0";
    }
    return "0.0";
}

bool requiretls_refusal(Reason r) {
    return r == Reason::RequireTlsNotOffered || r == Reason::RequireTlsUnauthenticated;
}

// RFC 3463 §3.5 X.3.0: other or undefined mail system status (our own spool).
constexpr std::string_view kLocalError = "4.3.0";
// RFC 3463 §3.1 X.0.0: other undefined status, in the class of the reply.
constexpr std::string_view kUndefinedTemp = "4.0.0";
constexpr std::string_view kDelivered = "2.0.0";

NextStep step(Disposition d, RcptOutcome o, std::string status) {
    return NextStep{d, o, std::move(status)};
}

// The peer's own status, passed on as given (RFC 3464 §2.3.4); without an
// enhanced code the class of its basic code, X.0.0.
std::string peer_status(const Trouble& t) {
    if (!t.reply_status.empty()) return t.reply_status;
    return std::to_string(t.reply_code / 100) + ".0.0";
}

// The rules before the queue lifetime is looked at.
NextStep decide(const Trouble& t, const Situation& s) {
    switch (t.what) {
        case Happened::PeerReply:
            switch (t.reply_class) {
                case ReplyClass::PermFail:
                    // RFC 5321 §4.2.1: 5yz is permanent; RFC 3464 §2.3.4: its status as given.
                    return step(Disposition::Bounce, RcptOutcome::Bounced, peer_status(t));
                case ReplyClass::Ok:  // RFC 5321 §4.2.1: success where delivery was due is no
                                      // delivery: unexpected, so temporary
                case ReplyClass::TempFail: {
                    // RFC 5321 §4.2.1: 4yz is transient; the recipient stays queued.
                    std::string st = peer_status(t);
                    if (st.front() != '4') st = kUndefinedTemp;
                    return step(Disposition::Defer, RcptOutcome::Deferred, st);
                }
            }
            break;
        case Happened::LocalError:
            // Our own failure is never the sender's: always temporary (RFC 3463 §3.5).
            return step(Disposition::Defer, RcptOutcome::Deferred, std::string(kLocalError));
        case Happened::TempFail:
            // RFC 5321 §5.1: a host that cannot be reached sends us to the next MX;
            // after the last one, RFC 5321 §4.5.4.1: retry later.
            if (s.hosts_left)
                return step(Disposition::NextHost, RcptOutcome::Deferred,
                            enhanced_status(t.reason, false));
            return step(Disposition::Defer, RcptOutcome::Deferred,
                        enhanced_status(t.reason, false));
        case Happened::DestinationRefused:
            // RFC 7505 §3 (null MX) and RFC 5321 §5.1 (no such domain): no host
            // of this destination can take it; other hosts do not change that.
            // RFC 8461 §5.1: not under an MTA-STS policy the live TXT record did not confirm.
            if (s.sts_unconfirmed)
                return step(Disposition::Defer, RcptOutcome::Deferred,
                            enhanced_status(t.reason, false));
            return step(Disposition::Bounce, RcptOutcome::Bounced, enhanced_status(t.reason, true));
        case Happened::TlsFailure:
            // RFC 7672 §2.2.1, RFC 8461 §5: a host without the required
            // protection is skipped, never used in the clear: the next one.
            if (s.hosts_left)
                return step(Disposition::NextHost, RcptOutcome::Deferred,
                            enhanced_status(t.reason, false));
            // RFC 8689 §4.2.1: a REQUIRETLS message that no next hop can carry
            // goes back to its sender (5.7.30) rather than wait for a hop to
            // change; only `hold` keeps it, for the operator.
            if (requiretls_refusal(t.reason) && s.on_tls_failure != OnTlsFailure::Hold &&
                !s.host_skipped && !s.sts_unconfirmed)
                return step(Disposition::Bounce, RcptOutcome::Bounced,
                            enhanced_status(t.reason, true));
            switch (s.on_tls_failure) {
                case OnTlsFailure::Bounce:
                    // Only once every candidate host was really tried: a host that
                    // failed temporarily might have had the protection (RFC 7672 §2.2.1).
                    // RFC 8461 §5.1: no permanent failure under an unconfirmed policy.
                    if (s.host_skipped || s.sts_unconfirmed)
                        return step(Disposition::Defer, RcptOutcome::Deferred,
                                    enhanced_status(t.reason, false));
                    return step(Disposition::Bounce, RcptOutcome::Bounced,
                                enhanced_status(t.reason, true));
                case OnTlsFailure::Defer:
                    return step(Disposition::Defer, RcptOutcome::Deferred,
                                enhanced_status(t.reason, false));
                case OnTlsFailure::Hold:
                    // Held for an operator: queued, so the status is temporary.
                    return step(Disposition::Hold, RcptOutcome::Held,
                                enhanced_status(t.reason, false));
                case OnTlsFailure::Reroute:
                    // To fallback_next_hop under `secure`, once; without one (or
                    // on the fallback itself) it stays queued.
                    if (s.fallback_next_hop && !s.rerouted)
                        return step(Disposition::Reroute, RcptOutcome::Deferred,
                                    enhanced_status(t.reason, false));
                    return step(Disposition::Defer, RcptOutcome::Deferred,
                                enhanced_status(t.reason, false));
            }
            break;
    }
    // An unknown case is temporary, never a bounce (STYLE.md habit 4).
    return step(Disposition::Defer, RcptOutcome::Deferred, std::string(kUndefinedTemp));
}

}  // namespace

bool past_lifetime(FailureClock::time_point arrival, FailureClock::time_point now,
                   std::chrono::seconds max_lifetime) {
    return now >= arrival + max_lifetime;
}

NextStep next_step(const Trouble& t, const Situation& s) {
    NextStep n = decide(t, s);
    // RFC 5321 §4.5.4.1: give up on a message queued for max_lifetime; the
    // report says 5.4.7 (RFC 3463 X.4.7, delivery time expired). A held
    // recipient waits for its operator instead.
    if (n.step == Disposition::Defer && past_lifetime(s.arrival, s.now, s.max_lifetime))
        return step(Disposition::Bounce, RcptOutcome::Expired,
                    enhanced_status(Reason::Expired, true));
    return n;
}

Trouble trouble_of(const Outcome& o) {
    Trouble t;
    t.reason = o.reason;
    switch (o.verdict) {
        case Verdict::TlsFailure:
            t.what = Happened::TlsFailure;
            break;
        case Verdict::PermFail:
            t.what = Happened::DestinationRefused;
            break;
        case Verdict::TempFail:
        case Verdict::Deliver:  // not failures: the engine does not ask; temporary is safe
        case Verdict::RetryWithoutTls:
            t.what = Happened::TempFail;
            break;
    }
    return t;
}

Trouble trouble_of_reply(int code, std::string_view enhanced, Reason reason) {
    Trouble t;
    t.what = Happened::PeerReply;
    t.reason = reason;
    t.reply_code = code;
    t.reply_status = std::string(enhanced);
    t.reply_class = classify(SmtpReply{code, std::string(enhanced), {}});
    return t;
}

std::string operator_status(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Bounced:
        case RcptOutcome::Expired:
            return enhanced_status(Reason::Cancelled, true);
        case RcptOutcome::Delivered:
        case RcptOutcome::Deferred:
        case RcptOutcome::Held:
        case RcptOutcome::Cancelled:
            return enhanced_status(Reason::Cancelled, false);
    }
    return enhanced_status(Reason::Cancelled, false);
}

UnsendableReply unsendable_reply(Unsendable u) {
    switch (u) {
        case Unsendable::TooBig:
            // RFC 1870 §6: over the declared maximum is permanent; RFC 3463 X.3.4.
            return {552, "5.3.4"};
        case Unsendable::RequireTls:
            // RFC 8689 §4.2.1: REQUIRETLS mail goes only to a hop that offers it over TLS.
            return {550, enhanced_status(Reason::RequireTlsNotOffered, true)};
        case Unsendable::NulBytes:
            // RFC 5321 §2.3.8: NUL is not text; RFC 3463 X.6.0, other media error.
            return {554, "5.6.0"};
        case Unsendable::Utf8Envelope:
            // RFC 6531 §3.4 (no SMTPUTF8, no non-ASCII envelope); RFC 6533 X.6.7.
            return {553, "5.6.7"};
    }
    return {554, "5.0.0"};
}

std::string delivered_status(std::string_view reply_status) {
    return reply_status.empty() ? std::string(kDelivered) : std::string(reply_status);
}

std::string enhanced_status(Reason r, bool permanent) {
    return std::string(permanent ? "5." : "4.") + std::string(status_tail(r));
}

bool report_wanted(RcptOutcome o, const Notify& n) {
    // RFC 3461 §4.1: NEVER asks for none; without NOTIFY, FAILURE and DELAY.
    if (n.never) return false;
    const bool none_given = !n.success && !n.failure && !n.delay;
    switch (o) {
        case RcptOutcome::Bounced:
        case RcptOutcome::Expired:
            return none_given || n.failure;
        case RcptOutcome::Deferred:
        case RcptOutcome::Held:
            return none_given || n.delay;
        case RcptOutcome::Delivered:
            return n.success;
        case RcptOutcome::Cancelled:  // the operator's action reports, if at all
            return false;
    }
    return false;
}

std::string_view to_string(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Delivered:
            return "delivered";
        case RcptOutcome::Deferred:
            return "deferred";
        case RcptOutcome::Held:
            return "held";
        case RcptOutcome::Bounced:
            return "bounced";
        case RcptOutcome::Expired:
            return "expired";
        case RcptOutcome::Cancelled:
            return "cancelled";
    }
    return "?";
}

std::string_view to_string(Happened h) {
    switch (h) {
        case Happened::PeerReply:
            return "peer-reply";
        case Happened::TlsFailure:
            return "tls-failure";
        case Happened::TempFail:
            return "temp-fail";
        case Happened::DestinationRefused:
            return "destination-refused";
        case Happened::LocalError:
            return "local-error";
    }
    return "?";
}

}  // namespace chainmail::policy
