// tls_session_cache: client TLS sessions kept per destination and verification
// profile, so that a session verified under one requirement is never resumed
// under another. Bounded in entries; thread-safe; sessions are taken once.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "policy/outcome.hpp"
#include "relay/tls/openssl_ptr.hpp"

namespace chainmail::tls {

// What the full handshake proved, reported again when the session is resumed
// (a resumed handshake carries no fresh chain verification).
struct CachedFacts {
    policy::AuthLabel auth = policy::AuthLabel::None;  // None: not verified
    std::string peer_subject;
    std::string peer_issuer;
};

class SessionCache {
  public:
    explicit SessionCache(std::size_t max_entries) : max_(max_entries) {}

    // Replaces any session under `key`; evicts the oldest entry when full.
    void put(const std::string& key, SslSessionPtr session, CachedFacts facts);

    // Removes and returns a still-valid session (TLS 1.3 tickets are single
    // use, RFC 8446 §C.4); nullptr when there is none or it expired.
    SslSessionPtr take(const std::string& key, CachedFacts& facts);

    std::size_t size() const;

  private:
    struct Entry {
        SslSessionPtr session;
        CachedFacts facts;
        std::list<std::string>::iterator order;
    };
    mutable std::mutex mu_;
    std::size_t max_;
    std::map<std::string, Entry> entries_;
    std::list<std::string> order_;  // oldest first
};

}  // namespace chainmail::tls
