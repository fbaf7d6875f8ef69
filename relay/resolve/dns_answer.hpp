// dns_answer: what one DNS lookup returns to the delivery stage: the records
// and the DNSSEC state of the answer. Plain data; the state and TLSA record
// types are policy's, so answers pass straight into policy::MxFacts/HostFacts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "policy/dns_facts.hpp"

namespace chainmail::resolve {

using policy::DnsState;
using policy::TlsaRecord;

// The state of one answer. Names are lower case without the trailing dot.
struct DnsStatus {
    DnsState state = DnsState::TempFail;
    // The records, or the NXDOMAIN/NODATA denial, were DNSSEC-validated, and
    // so was every CNAME on the way (libunbound validates the whole chain).
    // True for Secure; for NotFound it says whether the denial was secure.
    bool secure = false;
    bool nxdomain = false;  // NotFound: the name does not exist (false: NODATA)
    // The owner name of the records after following CNAMEs (RFC 7672 §2.2.2
    // calls it the "fully CNAME-expanded" name); the query name when no CNAME.
    std::string canonical_name;
    std::string reason;  // Bogus: libunbound's why_bogus text; TempFail: what failed
    bool ok() const { return state == DnsState::Secure || state == DnsState::Insecure; }
};

struct MxHost {
    std::uint16_t preference = 0;
    std::string host;  // lower case, no trailing dot; "" only for a null MX
};

// MX: NotFound (NODATA or NXDOMAIN) means "no MX"; the delivery stage falls
// back to the domain itself (RFC 5321 §5.1) only when it is NODATA.
struct MxAnswer {
    DnsStatus status;
    // Sorted by preference; equal preferences in random order (RFC 5321 §5.1).
    std::vector<MxHost> hosts;
    // RFC 7505 §3: a single MX with preference 0 and the root as exchange:
    // the domain accepts no mail. hosts is then empty.
    bool null_mx = false;
};

// A and AAAA of one host, both asked at once; status as combine_address_status().
struct AddrAnswer {
    DnsStatus status;
    std::vector<boost::asio::ip::address> addresses;  // IPv6 first, then IPv4
    DnsStatus v6;                                     // the AAAA lookup
    DnsStatus v4;                                     // the A lookup
};

// TLSA at _PORT._tcp.HOST. A secure NotFound is "validated: no TLSA".
struct TlsaAnswer {
    DnsStatus status;
    std::string qname;  // "_25._tcp.mx.example.nl"
    std::vector<TlsaRecord> records;
};

// TXT at a name (RFC 1035 §3.3.14): one string per record, its
// character-strings joined without separators (RFC 8461 §3.1, RFC 7208 §3.3).
struct TxtAnswer {
    DnsStatus status;
    std::vector<std::string> records;
};

// The state of an address lookup from its two families:
// - Bogus if either family is Bogus (never used: the delivery defers);
// - with addresses: Secure if no family is Insecure or an insecure denial,
//   else Insecure. A family that failed (TempFail) is left out: its failure
//   must not turn a validated answer into an insecure one, which would
//   switch DANE off (a downgrade an attacker could cause by dropping AAAA);
// - without addresses: TempFail if either family failed, else NotFound,
//   secure when both denials were, nxdomain when either says so.
DnsStatus combine_address_status(const DnsStatus& v6, bool v6_has_addresses, const DnsStatus& v4,
                                 bool v4_has_addresses);

// The TLSA facts policy wants for one host (RFC 7672 §2.2). The delivery
// stage asks for TLSA only when the host name came from a secure MX answer
// (or the configuration) and addresses() was Secure; otherwise pass
// policy::TlsaState::NotApplicable without a lookup.
//
// RFC 7672 §2.2.2 base names: when addresses() shows a CNAME (canonical_name
// differs from the host) and the answer is Secure, look up TLSA at the
// canonical name first; when that answer is a secure NotFound, look up the
// original host name. With an insecure chain there is no DANE for the host.
policy::TlsaFacts to_tlsa_facts(const TlsaAnswer& a);

}  // namespace chainmail::resolve
