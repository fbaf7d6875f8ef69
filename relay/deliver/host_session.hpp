// host_session: the steps of a delivery attempt that `chainmail probe` shares
// verbatim, so that probe and delivery cannot disagree: which lookups a level
// needs, and connect + judge() for one host under one Requirement (with the
// `may` plaintext retry). Nothing of a message is sent here.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>

#include "policy/outcome.hpp"
#include "policy/tls_decision.hpp"
#include "relay/deliver/smtp_client.hpp"

namespace chainmail::deliver {

// The levels that decide on TLSA records (RFC 7672 §2.2).
bool wants_tlsa(policy::TlsLevel level);
// The levels an MTA-STS policy can change (the TLS-level table): may and
// encrypt are raised by an enforce policy, dane uses it where no DANE applies,
// authenticated has it as its second route. The others name their own proof.
bool consults_mta_sts(policy::TlsLevel level);

// The TLS client's verification for a policy Check; `host` is the MX host
// name: the DANE base domain (RFC 7672 §3.2.2) and the PKIX name when the
// check names none. No minimum version: opportunistic ciphers (RFC 7435).
tls::TlsRequirement to_requirement(const policy::Check& check, const std::string& host);

// SessionOptions for one host under a policy Requirement; addresses, port,
// helo_name and timeouts are the caller's.
void apply_requirement(const policy::Requirement& req, SessionOptions& options);

// What judge() decides on: the SMTP steps of the session and its TLS facts.
policy::TlsFacts tls_facts_of(const SessionFacts& s);

// judge() on what Connection::open() returned (conn may be null). Only a
// session that ended in the STARTTLS steps is a TLS matter; anything else
// (no connection, a timeout in EHLO) is a temporary failure, never a bounce.
policy::Outcome judge_session(const policy::Requirement& req, const Connection* conn,
                              const SessionFacts& facts);

struct JudgedSession {
    std::unique_ptr<Connection> conn;  // open and usable only when outcome is Deliver
    SessionFacts facts;
    policy::Outcome outcome;
    policy::Requirement req;  // as finally applied (plaintext_retry() after a retry)
    // RetryWithoutTls happened: the failed TLS session's facts.
    std::optional<SessionFacts> before_retry;
};

// apply_requirement(req) to `opts` (keeping opts.requirement.describe_chain),
// Connection::open, judge_session; on RetryWithoutTls a plaintext
// reconnection to the same host, judged again (RFC 7435 opportunistic).
boost::asio::awaitable<JudgedSession> open_judged(tls::ClientTls& tls, policy::Requirement req,
                                                  SessionOptions opts);

// The verdict of `req` on a session that open_judged() ran under an equal
// requirement (same session_key): judge_session, and on RetryWithoutTls the
// plaintext session's verdict. `opened`, `facts`, `before_retry` are that
// JudgedSession's (conn != nullptr, facts, before_retry). For probing
// several levels with one connection per distinct verification.
policy::Outcome rejudge(const policy::Requirement& req, bool opened, const SessionFacts& facts,
                        const std::optional<SessionFacts>& before_retry);

// Equal for requirements that open_judged() would run identically.
std::string session_key(const policy::Requirement& req, const std::string& host);

}  // namespace chainmail::deliver
