// client_tls: outbound TLS mechanism. The caller says what to verify (a
// TlsRequirement: policy's Check plus the cipher list); this code sets up one SSL per connection
// and, after the handshake, reports facts (TlsFacts) in policy's vocabulary (versions, TLSA
// records, digests, labels). It never decides what a result means.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "policy/dns_facts.hpp"
#include "policy/outcome.hpp"
#include "policy/tls_decision.hpp"
#include "policy/tls_facts.hpp"
#include "relay/tls/openssl_ptr.hpp"
#include "relay/tls/tls_session_cache.hpp"

namespace chainmail::tls {

// "Good/sufficient" per the NCSC-NL TLS guidelines, or anything that encrypts
// (for opportunistic levels, where some TLS beats plaintext).
enum class CipherGrade { Ncsc, Opportunistic };

struct TlsRequirement {
    // What the peer must prove, as policy decided it. MtaSts is set up as Pkix
    // (RFC 8461 §4.2: PKIX validation of the MX host name). In tlsa only
    // usages 2 (DANE-TA) and 3 (DANE-EE) are used. min_version Unknown (no
    // minimum) and Ssl3 set TLS 1.0, the lowest this client speaks; without a
    // policy check it is TLS 1.2.
    policy::Check check{.min_version = policy::TlsVersion::Tls12};
    // Dane: the TLSA base domain (the MX host name, RFC 7672 §3.2.2); empty: the SNI.
    std::string dane_base;
    CipherGrade ciphers = CipherGrade::Ncsc;
    // `chainmail probe`: also describe the chain the peer sent (TlsFacts::chain).
    bool describe_chain = false;
};

enum class VerifyResult {
    Ok,
    HandshakeFailed,      // no TLS at all (alert, reset, bad cipher)
    VersionTooLow,        // no common protocol version >= min_version
    ChainError,           // PKIX chain did not verify; detail has the X509 error
    NameMismatch,         // chain fine, no name matched
    FingerprintMismatch,  // no configured digest matched
    TlsaMismatch,         // no TLSA record matched
    NoUsableTlsa,         // Dane asked, but no record had usage 2 or 3
};

// One certificate as the peer sent it, for people (`chainmail probe`).
struct CertInfo {
    std::string subject, issuer;         // RFC 2253 one-line forms
    std::vector<std::string> dns_names;  // subjectAltName dNSName entries
    std::string not_after;               // "2027-03-01T12:00:00Z"
    std::array<std::uint8_t, 32> cert_sha256{};
    std::array<std::uint8_t, 32> spki_sha256{};
};

struct TlsFacts {
    policy::TlsVersion version = policy::TlsVersion::Unknown;  // Unknown without a handshake
    std::string cipher;                                        // "TLS_AES_256_GCM_SHA384"
    std::string group;            // the key exchange group, "x25519"; empty when unknown
    std::vector<CertInfo> chain;  // leaf first; only with TlsRequirement::describe_chain
    bool resumed = false;
    std::string peer_subject;  // RFC 2253 one-line forms; empty without a certificate
    std::string peer_issuer;
    VerifyResult result = VerifyResult::HandshakeFailed;
    std::string detail;  // X509 or OpenSSL error text, for logs and NDRs
    // Meaningful only when result == Ok: None, Fingerprint, Pkix, DaneEe or DaneTa.
    policy::AuthLabel auth = policy::AuthLabel::None;
    // The separate findings behind `result`, for policy::TlsFacts.
    bool chain_ok = false;     // the chain verified (PKIX or DANE-TA), names aside
    bool name_ok = false;      // a reference name matched
    std::string matched_name;  // SSL_get0_peername()
    policy::DaneAuthority dane = policy::DaneAuthority::None;  // the TLSA usage that authenticated
    std::optional<policy::TlsaRecord> dane_matched;  // the record that did (SSL_get0_dane_tlsa)
    std::optional<policy::Sha256> cert_sha256;       // leaf certificate DER
    std::optional<policy::Sha256> spki_sha256;       // leaf SubjectPublicKeyInfo DER
};

std::string_view to_string(VerifyResult r);

// The verification profile, hashed: equal for requirements that verify alike.
std::string requirement_profile(const TlsRequirement& req);

// SHA-256 of a certificate's DER and of its SubjectPublicKeyInfo DER.
std::array<std::uint8_t, 32> cert_sha256(X509* cert);
std::array<std::uint8_t, 32> spki_sha256(X509* cert);

// Per-connection verification state, attached to the SSL. The SSL belongs to
// the caller's stream, which must be destroyed before this object.
struct ConnectionTls {
    SSL* ssl = nullptr;
    TlsRequirement req;
    std::string cache_key;  // empty: no session resumption
    SessionCache* cache = nullptr;
    int usable_tlsa = 0;  // Dane: records OpenSSL accepted
    // Set by the verify callback: the first error seen, and which kinds.
    int first_error = 0;
    int first_error_depth = -1;
    bool saw_chain_error = false;
    bool saw_name_mismatch = false;
    bool saw_dane_no_match = false;
    bool decided = false;  // evaluate() or handshake_failure() ran
    bool verified = false;
    SslSessionPtr pending;       // a new session waiting for the verdict
    CachedFacts resumed_facts;   // from the cache, when a session was offered
    CachedFacts verified_facts;  // stored with new sessions of this connection
};

// One outbound SSL_CTX, shared by every connection; thread-safe after construction.
class ClientTls {
  public:
    // ca_file: the trust store for Pkix (config tls.ca_file); empty: none.
    // Throws std::runtime_error when the file cannot be loaded (start-up).
    explicit ClientTls(const std::string& ca_file, std::size_t cache_entries = 1000);
    ~ClientTls();
    ClientTls(const ClientTls&) = delete;
    ClientTls& operator=(const ClientTls&) = delete;

    // For boost::asio::ssl::stream, which makes one SSL per connection from it.
    boost::asio::ssl::context& asio_context() { return ctx_; }
    SessionCache& cache() { return cache_; }

    // Sets up `ssl` (fresh from the stream) for one connection: SNI = sni
    // (RFC 7672 §8.1), versions, ciphers, names, TLSA records, and a cached
    // session for `destination` when one exists for the same requirement.
    // Returns nullptr when OpenSSL refuses the DANE base domain.
    std::unique_ptr<ConnectionTls> prepare(SSL* ssl, const TlsRequirement& req,
                                           const std::string& sni, const std::string& destination);

  private:
    boost::asio::ssl::context ctx_;  // owns the SSL_CTX (RAII, like the aliases)
    SessionCache cache_;
};

// After a completed handshake: the facts, with the verification verdict.
// Stores the session for resumption only when the verdict is Ok.
TlsFacts evaluate(ConnectionTls& conn);

// After a failed handshake: the facts we have, with a reason from the error.
TlsFacts handshake_failure(ConnectionTls& conn, unsigned long openssl_error,
                           const std::string& fallback_text);

}  // namespace chainmail::tls
