#include "relay/deliver/host_session.hpp"

namespace chainmail::deliver {

namespace asio = boost::asio;
using policy::Outcome;
using policy::Reason;
using policy::Verdict;

bool wants_tlsa(policy::TlsLevel level) {
    switch (level) {
        case policy::TlsLevel::Dane:
        case policy::TlsLevel::DaneOnly:
        case policy::TlsLevel::Authenticated:
            return true;
        case policy::TlsLevel::None:
        case policy::TlsLevel::May:
        case policy::TlsLevel::Encrypt:
        case policy::TlsLevel::Fingerprint:
        case policy::TlsLevel::Verify:
        case policy::TlsLevel::Secure:
            return false;
    }
    return true;
}

bool consults_mta_sts(policy::TlsLevel level) {
    switch (level) {
        case policy::TlsLevel::May:
        case policy::TlsLevel::Encrypt:
        case policy::TlsLevel::Dane:
        case policy::TlsLevel::Authenticated:
            return true;
        case policy::TlsLevel::None:
        case policy::TlsLevel::Fingerprint:
        case policy::TlsLevel::Verify:
        case policy::TlsLevel::Secure:
        case policy::TlsLevel::DaneOnly:
            return false;
    }
    return false;
}

namespace {

Outcome judge_facts(const policy::Requirement& req, bool opened, const SessionFacts& f) {
    if (!opened) {
        const bool tls_step =
            f.result.stage == Stage::StartTls || f.result.stage == Stage::TlsHandshake ||
            f.result.failure == Failure::TlsNotOffered || f.result.failure == Failure::TlsRefused ||
            f.result.failure == Failure::TlsFailed;
        if (!f.greeting.positive() || !tls_step)
            return policy::temp_failure(
                f.result.failure == Failure::Connect ? Reason::ConnectFailed : Reason::Unknown,
                f.result.text.empty() ? std::string(to_string(f.result.failure)) : f.result.text);
    }
    Outcome o = policy::judge(req, tls_facts_of(f));
    if (!opened && o.verdict == Verdict::Deliver)
        return policy::temp_failure(Reason::Unknown, f.result.text);
    return o;
}

}  // namespace

tls::TlsRequirement to_requirement(const policy::Check& check, const std::string& host) {
    tls::TlsRequirement r;
    r.check = check;
    // RFC 8461 §4.2: MTA-STS validates the MX host name as PKIX does.
    const bool pkix =
        check.auth == policy::AuthMethod::Pkix || check.auth == policy::AuthMethod::MtaSts;
    if (pkix && r.check.names.empty()) r.check.names.push_back(host);
    r.dane_base = host;
    // Opportunistic: any TLS beats plaintext (RFC 7435).
    const bool no_minimum = check.min_version == policy::TlsVersion::Unknown ||
                            check.min_version == policy::TlsVersion::Ssl3;
    r.ciphers = no_minimum ? tls::CipherGrade::Opportunistic : tls::CipherGrade::Ncsc;
    return r;
}

void apply_requirement(const policy::Requirement& req, SessionOptions& options) {
    options.host = req.host;
    options.starttls = req.apply.starttls;
    options.requirement = to_requirement(req.verify(), req.host);
    // A `testing` shadow is judged afterwards, never enforced by the client.
    options.enforce_verification = !req.shadow.has_value();
}

policy::TlsFacts tls_facts_of(const SessionFacts& s) {
    policy::TlsFacts f;
    f.connected = s.greeting.positive();
    f.starttls_offered = s.extensions.starttls || s.tls.has_value() || s.starttls_refused;
    f.starttls_accepted = !s.starttls_refused;
    f.handshake_ok = s.tls_up;
    if (!s.tls) return f;
    const tls::TlsFacts& t = *s.tls;
    f.version_rejected = t.result == tls::VerifyResult::VersionTooLow;
    f.version = t.version;
    f.cipher = t.cipher;
    f.chain_ok = t.chain_ok;
    f.name_ok = t.name_ok;
    f.matched_name = t.matched_name;
    f.dane = t.dane;
    f.cert_sha256 = t.cert_sha256;
    f.spki_sha256 = t.spki_sha256;
    f.requiretls_offered = s.tls_up && s.extensions.requiretls;
    return f;
}

Outcome judge_session(const policy::Requirement& req, const Connection* conn,
                      const SessionFacts& facts) {
    return judge_facts(req, conn != nullptr, conn ? conn->facts() : facts);
}

asio::awaitable<JudgedSession> open_judged(tls::ClientTls& tls, policy::Requirement req,
                                           SessionOptions opts) {
    const bool describe = opts.requirement.describe_chain;
    apply_requirement(req, opts);
    opts.requirement.describe_chain = describe;
    JudgedSession s;
    std::tie(s.conn, s.facts) = co_await Connection::open(tls, opts);
    s.outcome = judge_session(req, s.conn.get(), s.facts);
    if (s.outcome.verdict == Verdict::RetryWithoutTls) {
        // `may`: the handshake failed; the same host in plaintext (RFC 7435 opportunistic).
        if (s.conn) co_await s.conn->quit();
        s.before_retry = std::move(s.facts);
        req = policy::plaintext_retry(req);
        apply_requirement(req, opts);
        opts.starttls = policy::Starttls::Never;
        std::tie(s.conn, s.facts) = co_await Connection::open(tls, opts);
        s.outcome = judge_session(req, s.conn.get(), s.facts);
    }
    if (s.conn) s.facts = s.conn->facts();
    s.req = std::move(req);
    co_return s;
}

Outcome rejudge(const policy::Requirement& req, bool opened, const SessionFacts& facts,
                const std::optional<SessionFacts>& before_retry) {
    if (!before_retry) return judge_facts(req, opened, facts);
    Outcome first = judge_facts(req, false, *before_retry);
    if (first.verdict != Verdict::RetryWithoutTls) return first;
    return judge_facts(policy::plaintext_retry(req), opened, facts);
}

std::string session_key(const policy::Requirement& req, const std::string& host) {
    SessionOptions o;
    apply_requirement(req, o);
    return std::to_string(static_cast<int>(o.starttls)) + "|" +
           (o.enforce_verification ? "e" : "s") + "|" + host + "|" +
           tls::requirement_profile(o.requirement);
}

}  // namespace chainmail::deliver
