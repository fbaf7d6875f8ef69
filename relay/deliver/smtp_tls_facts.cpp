#include "relay/deliver/smtp_tls_facts.hpp"

namespace chainmail::deliver {

tls::TlsRequirement to_requirement(const policy::Check& check, const std::string& host) {
    tls::TlsRequirement r;
    switch (check.auth) {
        case policy::AuthMethod::None:
            r.mode = tls::VerifyMode::None;
            break;
        case policy::AuthMethod::Fingerprint:
            r.mode = tls::VerifyMode::Fingerprint;
            break;
        case policy::AuthMethod::Pkix:
        case policy::AuthMethod::MtaSts:
            r.mode = tls::VerifyMode::Pkix;
            break;
        case policy::AuthMethod::Dane:
            r.mode = tls::VerifyMode::Dane;
            break;
    }
    r.fingerprints = check.fingerprints;
    r.names = check.names;
    if (r.mode == tls::VerifyMode::Pkix && r.names.empty()) r.names.push_back(host);
    r.dane_base = host;
    for (const auto& t : check.tlsa) r.tlsa.push_back({t.usage, t.selector, t.mtype, t.data});
    r.ciphers = tls::CipherGrade::Ncsc;
    switch (check.min_version) {
        case policy::TlsVersion::Unknown:  // opportunistic: any TLS beats plaintext
        case policy::TlsVersion::Ssl3:
            r.min_version = tls::TlsVersion::Tls10;
            r.ciphers = tls::CipherGrade::Opportunistic;
            break;
        case policy::TlsVersion::Tls10:
            r.min_version = tls::TlsVersion::Tls10;
            break;
        case policy::TlsVersion::Tls11:
            r.min_version = tls::TlsVersion::Tls11;
            break;
        case policy::TlsVersion::Tls12:
            r.min_version = tls::TlsVersion::Tls12;
            break;
        case policy::TlsVersion::Tls13:
            r.min_version = tls::TlsVersion::Tls13;
            break;
    }
    return r;
}

StartTls to_starttls(policy::Starttls s) {
    switch (s) {
        case policy::Starttls::Never:
            return StartTls::Never;
        case policy::Starttls::IfOffered:
            return StartTls::Opportunistic;
        case policy::Starttls::Required:
            return StartTls::Required;
    }
    return StartTls::Required;
}

void apply_requirement(const policy::Requirement& req, SessionOptions& options) {
    options.host = req.host;
    options.starttls = to_starttls(req.apply.starttls);
    options.requirement = to_requirement(req.verify(), req.host);
    // A `testing` shadow is judged afterwards, never enforced by the client.
    options.enforce_verification = !req.shadow.has_value();
}

policy::TlsVersion policy_version(const std::string& v) {
    if (v == "TLSv1.3") return policy::TlsVersion::Tls13;
    if (v == "TLSv1.2") return policy::TlsVersion::Tls12;
    if (v == "TLSv1.1") return policy::TlsVersion::Tls11;
    if (v == "TLSv1") return policy::TlsVersion::Tls10;
    if (v == "SSLv3") return policy::TlsVersion::Ssl3;
    return policy::TlsVersion::Unknown;
}

policy::TlsFacts to_policy_facts(const SessionFacts& s) {
    policy::TlsFacts f;
    f.connected = s.greeting.positive();
    f.starttls_offered = s.extensions.starttls || s.tls.has_value() || s.starttls_refused;
    f.starttls_accepted = !s.starttls_refused;
    f.handshake_ok = s.tls_up;
    if (!s.tls) return f;
    const tls::TlsFacts& t = *s.tls;
    f.version_rejected = t.result == tls::VerifyResult::VersionTooLow;
    f.version = policy_version(t.version);
    f.cipher = t.cipher;
    f.chain_ok = t.chain_ok;
    f.name_ok = t.name_ok;
    f.matched_name = t.matched_name;
    f.dane = t.dane_usage == 3   ? policy::DaneAuthority::Ee
             : t.dane_usage == 2 ? policy::DaneAuthority::Ta
                                 : policy::DaneAuthority::None;
    f.cert_sha256 = t.cert_sha256;
    f.spki_sha256 = t.spki_sha256;
    f.requiretls_offered = s.tls_up && s.extensions.requiretls;
    return f;
}

}  // namespace chainmail::deliver
