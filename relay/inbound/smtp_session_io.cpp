// The server's session type over TCP, and the end of DATA: the checks after
// the final dot and the hand-over to the spool (independent of the stream).
#include "relay/inbound/smtp_session_io.hpp"
#include "relay/clock/wall_clock.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace chainmail::inbound {

namespace asio = boost::asio;

template class BasicSession<asio::ip::tcp::socket>;

asio::awaitable<Session::Action> Session::finish_data(std::string message,
                                                      const DataReader& reader) {
    const auto& limits = cfg().limits;
    if (reader.too_big()) {
        tx_.reset();
        reply(552, "5.3.4 Message size exceeds fixed limit");  // RFC 1870 §6.3
        co_return Action::Continue;
    }
    if (reader.line_too_long()) {
        tx_.reset();
        // RFC 5321 §4.5.3.1.6: text lines are at most 1000 octets with CRLF.
        reply(550, "5.6.0 Message has a line longer than " +
                       std::to_string(limits.max_line_length) + " bytes");
        co_return Action::Continue;
    }
    if (reader.has_nul()) {
        // RFC 5321 §2.3.8 and RFC 5322 §2.3: NUL is not message text, and without
        // BINARYMIME (RFC 3030, not offered) it may not be sent. Some receivers drop
        // NULs and then read a "\r\n\0.\r\n" as an end of data: refused, so
        // that we never carry such a message to the next hop.
        spdlog::warn("inbound {}: NUL byte in DATA, message refused", client_ip_);
        tx_.reset();
        reply(550, "5.6.0 Error: message contains NUL characters");
        co_return Action::Continue;
    }
    spool::Envelope env = std::move(tx_.env);
    tx_.reset();
    env.arrival_ms = clock::now_ms();
    env.id = spool::make_queue_id(env.arrival_ms);
    env.client_ip = client_ip_;
    env.client_helo = helo_;
    if (tls_active_) env.client_tls = tls_version_ + " " + tls_cipher_;
    env.auth_user = auth_user_;
    // RFC 5322 §3.6.4: every message SHOULD have a Message-ID. As Postfix's
    // cleanup does, one is added when missing, so that the delivery log and
    // the reports can name the message.
    std::string added_id;
    if (auto found = find_message_id(message)) {
        env.message_id = std::move(*found);
    } else {
        env.message_id = make_message_id(env.id, cfg().hostname);
        added_id = "Message-ID: " + env.message_id + "\r\n";
    }

    ReceivedInfo ri;
    ri.helo = helo_;
    ri.client_ip = client_ip_;
    ri.esmtp = esmtp_;
    ri.tls_version = tls_version_;
    ri.tls_cipher = tls_cipher_;
    ri.tls_bits = tls_bits_;
    ri.auth_user = auth_user_;
    ri.by_host = cfg().hostname;
    ri.queue_id = env.id;
    if (env.recipients.size() == 1) ri.for_rcpt = env.recipients.front().address;
    ri.unix_ms = env.arrival_ms;
    // RFC 5321 §4.4: Received is prepended, the rest never changed; RFC 5322
    // §3.6 leaves the place of Message-ID free: it goes right below.
    message.insert(0, received_header(ri) + added_id);
    env.size = message.size();

    std::vector<std::string> rcpts;
    rcpts.reserve(env.recipients.size());
    for (const auto& r : env.recipients) rcpts.push_back(r.address);

    arm(deadline(SessionState::Spooling, cfg().limits));
    std::error_code ec = co_await core_->spool.commit(env, std::move(message));
    if (ec) {
        // Durability: nothing is acknowledged unless the spool says it is on disk.
        spdlog::error("inbound {}: spool commit failed: {}", client_ip_, ec.message());
        reply(452, "4.3.1 Insufficient system storage, try again later");
        co_return Action::Continue;
    }
    metrics::message_accepted();
    log::DeliveryEvent ev;
    ev.event = log::Event::Received;
    ev.ts_ms = env.arrival_ms;
    ev.queue_id = env.id;
    ev.message_id = env.message_id;
    ev.from = env.sender;
    ev.rcpts = std::move(rcpts);
    ev.size = env.size;
    ev.client_ip = client_ip_;
    ev.client_helo = helo_;
    if (tls_active_) ev.tls = log::TlsInfo{tls_version_, tls_cipher_, ""};
    ev.auth_user = auth_user_;
    core_->delivery_log.write(ev);
    spdlog::info("inbound {}: queued {} from=<{}> rcpts={} size={}", client_ip_, env.id, env.sender,
                 env.recipients.size(), env.size);
    reply(250, "2.0.0 Ok: queued as " + env.id);
    co_return Action::Continue;
}

}  // namespace chainmail::inbound
