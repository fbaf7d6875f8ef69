// scenario: a happy-path delivery (DNSSEC-secure MX, a matching DANE-EE
// record, STARTTLS, TLS 1.3, a valid certificate) that a test changes in one
// respect before asking policy what happens.
#pragma once

#include "config/config.hpp"
#include "policy/dns_facts.hpp"
#include "policy/outcome.hpp"
#include "policy/tls_decision.hpp"
#include "policy/tls_facts.hpp"

namespace chainmail::policy::test {

enum class Tlsa { Matching, WrongDigest, Unusable, Absent, Insecure, Bogus, TempFail };

inline Sha256 digest(std::uint8_t fill) {
    Sha256 d{};
    d.fill(fill);
    return d;
}

struct Scenario {
    config::Partner partner;
    MxFacts mx;
    MtaStsFacts sts;
    TlsFacts tls;
    bool requiretls = false;

    Scenario() {
        partner.name = "partner";
        partner.tls = TlsLevel::Dane;
        partner.fingerprints = {digest(0xAB)};
        mx.domain = "example.nl";
        mx.source = HostSource::Mx;
        mx.state = DnsState::Secure;
        HostFacts h;
        h.name = "mx1.example.nl";
        h.preference = 10;
        h.address = DnsState::Secure;
        h.tlsa.state = TlsaState::Secure;
        h.tlsa.records = {TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 0x11)}};
        mx.hosts = {h};
        tls.connected = true;
        tls.starttls_offered = true;
        tls.handshake_ok = true;
        tls.version = TlsVersion::Tls13;
        tls.cipher = "TLS_AES_256_GCM_SHA384";
        tls.chain_ok = true;
        tls.name_ok = true;
        tls.matched_name = "mx1.example.nl";
        tls.dane = DaneAuthority::Ee;
        tls.cert_sha256 = digest(0xAB);
        tls.spki_sha256 = digest(0xCD);
    }

    HostFacts& host() { return mx.hosts.front(); }

    Scenario& level(TlsLevel l) {
        partner.tls = l;
        return *this;
    }
    Scenario& testing() {
        partner.mode = Mode::Testing;
        return *this;
    }
    Scenario& tlsa(Tlsa t) {
        auto& s = host().tlsa;
        switch (t) {
            case Tlsa::Matching:
                break;
            case Tlsa::WrongDigest:  // usable records that the peer does not match
                tls.dane = DaneAuthority::None;
                break;
            case Tlsa::Unusable:  // PKIX-EE(1) is not usable for SMTP (RFC 7672 §3.1.3)
                s.records = {TlsaRecord{1, 1, 1, std::vector<std::uint8_t>(32, 0x11)}};
                break;
            case Tlsa::Absent:
                s.state = TlsaState::SecureNoRecords;
                s.records.clear();
                break;
            case Tlsa::Insecure:
                s.state = TlsaState::Insecure;
                s.records.clear();
                break;
            case Tlsa::Bogus:
                s.state = TlsaState::Bogus;
                s.records.clear();
                break;
            case Tlsa::TempFail:
                s.state = TlsaState::TempFail;
                s.records.clear();
                break;
        }
        return *this;
    }
    // An MX answer from an unsigned zone: the resolver skips TLSA.
    Scenario& mx_insecure() {
        mx.state = DnsState::Insecure;
        host().address = DnsState::Insecure;
        host().tlsa = TlsaFacts{};
        return *this;
    }
    Scenario& no_starttls() {
        tls.starttls_offered = false;
        tls.handshake_ok = false;
        return *this;
    }
    Scenario& handshake_fails() {
        tls.handshake_ok = false;
        return *this;
    }
    Scenario& chain_bad() {
        tls.chain_ok = false;
        return *this;
    }
    Scenario& name_bad() {
        tls.name_ok = false;
        tls.matched_name.clear();
        return *this;
    }
    Scenario& version(TlsVersion v) {
        tls.version = v;
        return *this;
    }
    Scenario& wrong_fingerprint() {
        tls.cert_sha256 = digest(0x01);
        tls.spki_sha256 = digest(0x02);
        return *this;
    }
    Scenario& mta_sts(MtaStsFacts::Mode mode, std::vector<std::string> patterns) {
        sts.mode = mode;
        sts.mx_patterns = std::move(patterns);
        return *this;
    }

    Requirement requirement() const {
        return requirement_for_host(partner, mx, mx.hosts.front(), sts, requiretls);
    }

    // What the delivery engine would end with for this host.
    Outcome run() const {
        if (auto o = check_destination(mx)) return *o;
        const Requirement req = requirement();
        if (auto o = before_connect(req)) return *o;
        TlsFacts f = tls;
        // The TLS client reports DANE only when it was asked to verify DANE.
        if (req.verify().auth != AuthMethod::Dane) f.dane = DaneAuthority::None;
        return judge(req, f);
    }
};

}  // namespace chainmail::policy::test
