#include "relay/resolve/dns_answer.hpp"

namespace chainmail::resolve {

namespace {

// Whether a family with this status can stand behind a Secure answer.
bool family_secure(const DnsStatus& s) {
    switch (s.state) {
        case DnsState::Secure:
            return true;
        case DnsState::NotFound:
            return s.secure;
        case DnsState::TempFail:
            return true;  // contributes nothing; see combine_address_status
        case DnsState::Insecure:
        case DnsState::Bogus:
            return false;
    }
    return false;
}

}  // namespace

DnsStatus combine_address_status(const DnsStatus& v6, bool v6_has_addresses, const DnsStatus& v4,
                                 bool v4_has_addresses) {
    if (v6.state == DnsState::Bogus) return v6;
    if (v4.state == DnsState::Bogus) return v4;
    if (v6_has_addresses || v4_has_addresses) {
        DnsStatus out = v4_has_addresses ? v4 : v6;
        out.secure = family_secure(v6) && family_secure(v4);
        out.state = out.secure ? DnsState::Secure : DnsState::Insecure;
        out.nxdomain = false;
        out.reason.clear();
        return out;
    }
    if (v6.state == DnsState::TempFail) return v6;
    if (v4.state == DnsState::TempFail) return v4;
    // Both NotFound: with no addresses any other state is impossible, but
    // treat an empty Secure/Insecure answer as NotFound all the same.
    DnsStatus out = v4;
    out.state = DnsState::NotFound;
    out.secure = v6.secure && v4.secure;
    out.nxdomain = v6.nxdomain || v4.nxdomain;
    return out;
}

policy::TlsaFacts to_tlsa_facts(const TlsaAnswer& a) {
    policy::TlsaFacts f;
    switch (a.status.state) {
        case DnsState::Secure:
            f.state = policy::TlsaState::Secure;
            f.records = a.records;
            break;
        case DnsState::Insecure:
            f.state = policy::TlsaState::Insecure;
            break;
        case DnsState::NotFound:
            // RFC 7672 §2.2.2: only a validated denial means "no TLSA";
            // an insecure one is an unsigned zone.
            f.state =
                a.status.secure ? policy::TlsaState::SecureNoRecords : policy::TlsaState::Insecure;
            break;
        case DnsState::Bogus:
            f.state = policy::TlsaState::Bogus;
            break;
        case DnsState::TempFail:
            f.state = policy::TlsaState::TempFail;
            break;
    }
    return f;
}

}  // namespace chainmail::resolve
