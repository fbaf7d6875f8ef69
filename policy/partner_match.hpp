// partner_match: which partner rule applies to a recipient domain, and why.
// Exact domain beats ".sub" (every subdomain of sub); the longest ".sub"
// wins; case and a trailing dot are ignored; otherwise `defaults`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/partner.hpp"
#include "policy/tls_level.hpp"

namespace chainmail::policy {

struct PartnerMatch {
    const Partner* partner = nullptr;  // into the partners or defaults; never null
    bool is_default = true;
    std::string rule;  // the `domains` entry that matched; empty for defaults
    std::string why;   // "matched domain rule .ziekenhuis-west.nl of partner ziekenhuis-west"
};

// Lower case, trailing dot removed.
std::string normalize_domain(std::string_view domain);

// The returned pointer points into `partners` or at `defaults`.
PartnerMatch match_partner(const std::vector<Partner>& partners, const Partner& defaults,
                           std::string_view domain);

// The domain part of an address ("a@B.nl" -> "b.nl"); the whole input if no '@'.
std::string domain_of(std::string_view address);

// RFC 8689, docs/tls-levels.md: mail marked sensitive gets at least `authenticated`.
// Levels that already authenticate the peer without trusting insecure DNS
// (fingerprint, secure, dane-only, authenticated) stay; all others become
// `authenticated`.
TlsLevel sensitive_level(TlsLevel level);
// The partner with its level raised by sensitive_level(); testing mode is
// dropped too, since a sensitive message is never delivered as `may`.
Partner sensitive_partner(const Partner& partner);

// RFC 8689 §4.2.2 "TLS-Required: No", where it is honoured: the recipient
// domain's own TLS policies are ignored, i.e. its MTA-STS policy and its DANE
// records under `dane` (which becomes `may`). A level the operator made
// mandatory for the partner (encrypt and stronger, dane-only) stays: the
// header never lowers a partner's contract (docs/sensitive.md).
Partner tls_optional_partner(const Partner& partner);

// on_tls_failure: reroute: the partner to deliver under at fallback_next_hop:
// `secure` (names: `match`, else the fallback's domain and its subdomains),
// enforced, deferring if the fallback fails too (never rerouting in a loop).
Partner reroute_partner(const Partner& partner);

}  // namespace chainmail::policy
