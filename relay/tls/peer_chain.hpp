// peer_chain: what a finished handshake shows a person: the negotiated key
// exchange group and the certificate chain the peer sent (subjects, names,
// expiry, digests). Read-only on the SSL; decides nothing.
#pragma once

#include <openssl/ssl.h>
#include <string>
#include <vector>

#include "relay/tls/client_tls.hpp"

namespace chainmail::tls {

// "x25519", "secp384r1", "ffdhe2048"; empty when OpenSSL does not say.
std::string negotiated_group(SSL* ssl);

// The peer's chain, leaf first (as sent; empty on a resumed session).
std::vector<CertInfo> describe_chain(SSL* ssl);

// RFC 2253 one-line form of a name.
std::string name_line(const X509_NAME* name);

}  // namespace chainmail::tls
