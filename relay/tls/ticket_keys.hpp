// ticket_keys: the keys that seal inbound TLS session tickets (RFC 5077, RFC 8446
// §4.6.1). One key seals; it is replaced every rotation period and the one before
// still opens tickets for one more period, so a ticket of one period never dangles.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include <openssl/ssl.h>

namespace chainmail::tls {

// Rotation period of the ticket key, and so the longest a ticket is honoured.
inline constexpr std::chrono::seconds kTicketLifetime = std::chrono::hours(12);

struct TicketKey {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::chrono::system_clock::time_point created{};
};

// Thread-safe: listener threads seal and open tickets concurrently. Keys are
// random and never leave memory, so a restart (not a reload) ends all tickets.
class TicketKeyRing {
  public:
    explicit TicketKeyRing(std::chrono::seconds period = kTicketLifetime);

    // The key to seal a new ticket with at `now`; rotates first when due.
    TicketKey for_sealing(std::chrono::system_clock::time_point now);

    enum class Open { Current, Previous };
    // The key named in a ticket, if still kept; Previous asks for a fresh ticket.
    std::optional<std::pair<TicketKey, Open>> for_opening(
        const unsigned char* name, std::chrono::system_clock::time_point now);

  private:
    void rotate_if_due(std::chrono::system_clock::time_point now);

    std::chrono::seconds period_;
    std::mutex mutex_;
    std::optional<TicketKey> current_;
    std::optional<TicketKey> previous_;
};

// The ring shared by every server context of this process, so that a reload
// (which builds a new context) keeps the tickets clients already hold.
TicketKeyRing& process_ticket_keys();

// Turns on stateless tickets sealed by process_ticket_keys() for `ctx`.
// Throws std::runtime_error when OpenSSL refuses the callback.
void enable_session_tickets(SSL_CTX* ctx);

}  // namespace chainmail::tls
