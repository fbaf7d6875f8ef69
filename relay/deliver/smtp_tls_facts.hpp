// smtp_tls_facts: the bridge between policy and the SMTP client. A policy
// Check becomes the tls::TlsRequirement the client sets up; what the client
// saw becomes the policy::TlsFacts that policy::judge() decides on.
#pragma once

#include <string>

#include "policy/tls_decision.hpp"
#include "policy/tls_facts.hpp"
#include "relay/deliver/smtp_client.hpp"

namespace chainmail::deliver {

// `host` is the MX host name: the DANE base domain (RFC 7672 §3.2.2) and
// the PKIX name when the check names none.
tls::TlsRequirement to_requirement(const policy::Check& check, const std::string& host);

StartTls to_starttls(policy::Starttls s);

// SessionOptions for one host under a policy Requirement; addresses, port,
// helo_name and timeouts are the caller's.
void apply_requirement(const policy::Requirement& req, SessionOptions& options);

policy::TlsFacts to_policy_facts(const SessionFacts& s);

// OpenSSL's version name ("TLSv1.3") as policy's TlsVersion; Unknown otherwise.
policy::TlsVersion policy_version(const std::string& openssl_name);

}  // namespace chainmail::deliver
