// server_tls: the TLS context for inbound STARTTLS, from tls.certificate and
// tls.private_key. TLS 1.2 and 1.3 only, cipher suites and groups rated
// "good" or "sufficient" by the NCSC-NL TLS guidelines (2021); sessions resume by
// tickets sealed with rotating keys (ticket_keys.hpp). Throws at start-up.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace chainmail::tls {

// Throws std::runtime_error naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::TlsIdentity& id);

// "TLSv1.3" and "TLS_AES_256_GCM_SHA384" of an established connection.
struct NegotiatedTls {
    std::string version;
    std::string cipher;
    int bits = 0;
};
NegotiatedTls negotiated(const SSL* ssl);

}  // namespace chainmail::tls
