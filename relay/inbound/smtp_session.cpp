// The verbs of the inbound dialogue: check_ steps decide whether a command
// may run now, proceed_ steps change the session and queue the reply.
#include "relay/inbound/smtp_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "policy/smtp_codec.hpp"
#include "relay/metrics/metrics.hpp"

namespace chainmail::inbound {

namespace asio = boost::asio;

namespace {

// RFC 4954 §4: a SASL response line may be up to 12288 octets.
bool is_cancel(std::string_view line) {
    return line == "*";
}

// RFC 2920 §3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP change the state the
// client must wait for, so they may only end a group; HELO likewise (no
// PIPELINING without EHLO). QUIT ends the session anyway; bytes after STARTTLS
// are discarded before the handshake (RFC 3207 §5, CVE-2011-0411).
bool ends_group(Verb v) {
    switch (v) {
        case Verb::Ehlo:
        case Verb::Helo:
        case Verb::Data:
        case Verb::Vrfy:
        case Verb::Noop:
            return true;
        case Verb::Mail:
        case Verb::Rcpt:
        case Verb::Rset:
        case Verb::Quit:
        case Verb::Help:
        case Verb::StartTls:
        case Verb::Auth:
        case Verb::Unknown:
            return false;
    }
    return false;
}

// Client bytes for the log: printable ASCII kept, the rest as \xNN.
std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u >= 32 && u < 127 && u != '\\') {
            out.push_back(static_cast<char>(u));
        } else {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
    if (s.size() > max) out += "...";
    return out;
}

}  // namespace

char* InputBuffer::prepare(std::size_t want, std::size_t max_cap, std::size_t& avail) {
    if (begin_ > 0 && cap_ - end_ < want) {  // compact: move unread bytes to the front
        std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (cap_ - end_ < want && cap_ < max_cap) {
        std::size_t cap = std::max<std::size_t>(cap_ * 2, 1024);
        while (cap - end_ < want && cap < max_cap) cap *= 2;
        cap = std::min(cap, std::max(max_cap, end_ + 1));
        auto bigger = std::make_unique<char[]>(cap);
        if (end_ > begin_) std::memcpy(bigger.get(), data_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        data_ = std::move(bigger);
        cap_ = cap;
    }
    avail = cap_ - end_;
    return data_.get() + end_;
}

void InputBuffer::shrink_to(std::size_t cap) {
    if (cap_ <= cap || end_ - begin_ > cap) return;
    auto smaller = std::make_unique<char[]>(cap);
    if (end_ > begin_) std::memcpy(smaller.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    data_ = std::move(smaller);
    cap_ = cap;
}

Session::Session(std::shared_ptr<ServerCore> core, const asio::any_io_executor& ex,
                 config::Listener listener)
    : core_(std::move(core)), state_(core_->state), timer_(ex), listener_(std::move(listener)) {
    core_->sessions.insert(this);
    metrics::inbound_connection_opened();
}

void Session::set_client(const asio::ip::tcp::endpoint& ep, const boost::system::error_code& ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    client_ip_ = ec ? std::string("unknown") : addr.to_string();
    std::array<std::uint8_t, 16> bytes{};
    if (!ec && addr.is_v4()) {
        auto b = addr.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
    } else if (!ec) {
        bytes = addr.to_v6().to_bytes();
    }
    if (!ec)
        for (const auto& net : cfg().relay_from.networks)
            if (net.contains(addr.is_v6(), bytes)) client_in_networks_ = true;
}

Session::~Session() {
    core_->sessions.erase(this);
    metrics::inbound_connection_closed();
    if (core_->stopping && core_->sessions.empty() && core_->on_idle) {
        auto done = std::move(core_->on_idle);
        core_->on_idle = nullptr;
        done();
    }
}

void Session::arm(Clock::duration d) {
    deadline_ = Clock::now() + scaled(d);
    // One wait is always outstanding; moving it earlier cancels it, and its
    // handler re-waits for the new deadline.
    if (deadline_ < timer_.expiry()) timer_.expires_at(deadline_);
}

void Session::disarm() {
    deadline_ = Clock::time_point::max();
}

Session::Clock::duration Session::scaled(Clock::duration d) const {
    const double scale = core_->options.deadline_scale;
    if (scale == 1.0) return d;
    return std::chrono::duration_cast<Clock::duration>(d * scale);
}

void Session::reply(int code, std::string_view text) {
    out_ += std::to_string(code);
    out_ += ' ';
    out_ += text;
    out_ += "\r\n";
}

Session::Action Session::error(int code, std::string_view text) {
    reply(code, text);
    // Like Postfix's smtpd_hard_error_limit: a client that keeps erring is cut off.
    if (++errors_ >= cfg().limits.max_errors) {
        reply(421, "4.7.0 " + cfg().hostname + " Error: too many errors");
        return Action::Close;
    }
    return Action::Continue;
}

Session::Action Session::handle_line(std::string_view line, std::string_view pending) {
    if (sasl_ != SaslStep::None) return handle_sasl(line);
    Command c = parse_command(line);
    if (!check_pipelining(c, pending)) return sync_error(line, pending);
    switch (c.verb) {
        case Verb::Ehlo:
            return proceed_ehlo(c, true);
        case Verb::Helo:
            return proceed_ehlo(c, false);
        case Verb::Mail:
            return proceed_mail(c);
        case Verb::Rcpt:
            return proceed_rcpt(c);
        case Verb::Data:
            return proceed_data(c);
        case Verb::Rset:
            tx_.reset();
            reply(250, "2.0.0 Ok");
            return Action::Continue;
        case Verb::Noop:
            reply(250, "2.0.0 Ok");
            return Action::Continue;
        case Verb::Quit:
            reply(221, "2.0.0 Bye");
            return Action::Quit;
        case Verb::Vrfy:
            // RFC 5321 §3.5.3: 252 when the address is not verified.
            reply(252, "2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
            return Action::Continue;
        case Verb::Help:
            reply(214,
                  "2.0.0 chainmail: see RFC 5321; commands EHLO HELO MAIL RCPT DATA RSET "
                  "NOOP QUIT VRFY HELP STARTTLS AUTH");
            return Action::Continue;
        case Verb::StartTls:
            return proceed_starttls(c);
        case Verb::Auth:
            return proceed_auth(c);
        case Verb::Unknown:
            return error(500, "5.5.2 Error: command not recognized");
    }
    return error(500, "5.5.2 Error: command not recognized");
}

Session::Action Session::proceed_ehlo(const Command& c, bool extended) {
    std::string_view arg = c.arg;
    while (!arg.empty() && arg.back() == ' ') arg.remove_suffix(1);
    if (arg.empty())
        return error(501, extended ? "5.5.4 Syntax: EHLO hostname" : "5.5.4 Syntax: HELO hostname");
    // RFC 5321 §4.1.4: EHLO in a transaction resets it.
    tx_.reset();
    helo_ = std::string(arg.substr(0, 255));
    esmtp_ = extended;
    const auto& host = cfg().hostname;
    if (!extended) {
        reply(250, host);
        return Action::Continue;
    }
    out_ += "250-" + host + "\r\n";
    out_ += "250-PIPELINING\r\n";
    out_ += "250-SIZE " + std::to_string(cfg().limits.max_message_size) + "\r\n";
    if (state_->tls && listener_.starttls && !tls_active_) out_ += "250-STARTTLS\r\n";
    // RFC 4954 §4 and docs/config.md (listen.auth): AUTH only over TLS, so passwords never go in
    // clear.
    if (tls_active_ && listener_.auth && state_->users) out_ += "250-AUTH PLAIN LOGIN\r\n";
    if (tls_active_) out_ += "250-REQUIRETLS\r\n";  // RFC 8689 §4: only on a TLS session
    out_ += "250-8BITMIME\r\n";
    out_ += "250-DSN\r\n";
    out_ += "250-SMTPUTF8\r\n";
    out_ += "250 ENHANCEDSTATUSCODES\r\n";
    return Action::Continue;
}

bool Session::check_pipelining(const Command& c, std::string_view pending) {
    // Inside a group anything may follow. Before our EHLO reply the client
    // cannot know that PIPELINING is offered, so there every command ends one.
    if (esmtp_ && !ends_group(c.verb)) return true;
    return pending.empty() && !input_waiting();
}

Session::Action Session::sync_error(std::string_view line, std::string_view pending) {
    // As Postfix >= 3.9 with smtpd_forbid_unauth_pipelining = yes: a client that
    // does not wait for our reply (message text before 354, commands behind
    // DATA or EHLO) is how SMTP smuggling gets bytes read in another state.
    // Refused and disconnected; the transaction is dropped, nothing is queued.
    spdlog::warn("inbound {}: improper command pipelining after {}: \"{}\", disconnecting",
                 client_ip_, printable(line.substr(0, line.find(' ')), 16), printable(pending, 64));
    tx_.reset();
    reply(554, "5.5.0 Error: SMTP protocol synchronization");
    return Action::Close;
}

bool Session::check_helo_seen() {
    return !helo_.empty();
}

bool Session::check_mail_allowed() {
    // RFC 3207 §4 and the listener's require_starttls.
    return tls_active_ || !listener_.require_starttls;
}

Session::Action Session::proceed_mail(const Command& c) {
    if (!check_helo_seen()) return error(503, "5.5.1 Error: send HELO/EHLO first");
    if (!check_mail_allowed()) return error(530, "5.7.0 Must issue a STARTTLS command first");
    if (tx_.active) return error(503, "5.5.1 Error: nested MAIL command");
    auto parsed = parse_mail(c.arg);
    if (auto* e = std::get_if<ParseError>(&parsed)) return error(e->code, e->text);
    auto& m = std::get<MailParams>(parsed);
    if (m.requiretls && !tls_active_) return error(555, "5.5.4 Unsupported parameter REQUIRETLS");
    // RFC 1870 §6.2: a declared size over our limit is refused at MAIL.
    if (m.size && *m.size > cfg().limits.max_message_size) {
        reply(552, "5.3.4 Message size exceeds fixed limit");
        return Action::Continue;
    }
    tx_.reset();
    tx_.active = true;
    tx_.declared_size = m.size;
    tx_.env.sender = std::move(m.address);
    tx_.env.body = m.body;
    tx_.env.smtputf8 = m.smtputf8;
    tx_.env.requiretls = m.requiretls;
    tx_.env.ret = m.ret;
    tx_.env.envid = std::move(m.envid);
    reply(250, "2.1.0 Ok");
    return Action::Continue;
}

bool Session::relay_allowed() const {
    return client_in_networks_ || (!auth_user_.empty() && cfg().relay_from.authenticated);
}

Session::Action Session::proceed_rcpt(const Command& c) {
    if (!tx_.active) return error(503, "5.5.1 Error: need MAIL command");
    auto parsed = parse_rcpt(c.arg, tx_.env.smtputf8);
    if (auto* e = std::get_if<ParseError>(&parsed)) return error(e->code, e->text);
    auto& r = std::get<RcptParams>(parsed);
    if (!relay_allowed()) {
        spdlog::info("inbound {}: relay denied for <{}>", client_ip_, r.address);
        reply(554, "5.7.1 <" + r.address + ">: Relay access denied");
        return Action::Continue;
    }
    if (tx_.env.recipients.size() >= static_cast<std::size_t>(cfg().limits.max_recipients)) {
        reply(452, "4.5.3 Error: too many recipients");  // RFC 5321 §4.5.3.1.10
        return Action::Continue;
    }
    spool::Recipient rcpt;
    rcpt.address = std::move(r.address);
    rcpt.orcpt = std::move(r.orcpt);
    rcpt.notify = r.notify;
    tx_.env.recipients.push_back(std::move(rcpt));
    reply(250, "2.1.5 Ok");
    return Action::Continue;
}

Session::Action Session::proceed_data(const Command& c) {
    if (!c.arg.empty()) return error(501, "5.5.4 Syntax: DATA");
    if (!tx_.active) return error(503, "5.5.1 Error: need MAIL command");
    // RFC 2920 §3.1: with no valid recipient, DATA is refused.
    if (tx_.env.recipients.empty()) return error(554, "5.5.1 Error: no valid recipients");
    reply(354, "End data with <CR><LF>.<CR><LF>");
    return Action::Data;
}

Session::Action Session::proceed_starttls(const Command& c) {
    if (!state_->tls || !listener_.starttls)
        return error(502, "5.5.1 Error: command not implemented");
    if (tls_active_) return error(503, "5.5.1 Error: TLS already active");
    if (!c.arg.empty()) return error(501, "5.5.4 Syntax: STARTTLS");  // RFC 3207 §4
    reply(220, "2.0.0 Ready to start TLS");
    return Action::StartTls;
}

void Session::after_starttls() {
    // RFC 3207 §4.2: the server MUST discard any knowledge obtained from the
    // client, such as the EHLO argument, which was not obtained from TLS.
    helo_.clear();
    esmtp_ = false;
    tx_.reset();
    sasl_ = SaslStep::None;
}

Session::Action Session::proceed_auth(const Command& c) {
    if (!listener_.auth || !state_->users)
        return error(502, "5.5.1 Error: authentication not enabled");
    // RFC 4954 §4: a mechanism that exposes the password needs an encrypted session.
    if (!tls_active_)
        return error(538, "5.7.11 Encryption required for requested authentication mechanism");
    if (!check_helo_seen()) return error(503, "5.5.1 Error: send EHLO first");
    if (!auth_user_.empty())
        return error(503, "5.5.1 Error: already authenticated");  // RFC 4954 §4
    if (tx_.active) return error(503, "5.5.1 Error: MAIL transaction in progress");
    std::string_view arg = c.arg;
    std::size_t sp = arg.find(' ');
    std::string_view mech = arg.substr(0, sp);
    std::string_view initial =
        sp == std::string_view::npos ? std::string_view{} : arg.substr(sp + 1);
    auto upper = std::string(mech);
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (upper == "PLAIN") {
        if (initial.empty()) {
            sasl_ = SaslStep::PlainResponse;
            reply(334, "");
            return Action::Continue;
        }
        sasl_ = SaslStep::PlainResponse;
        return handle_sasl(initial == "=" ? std::string_view{} : initial);
    }
    if (upper == "LOGIN") {
        if (!initial.empty()) {
            sasl_ = SaslStep::LoginUser;
            return handle_sasl(initial);
        }
        sasl_ = SaslStep::LoginUser;
        reply(334, "VXNlcm5hbWU6");  // "Username:"
        return Action::Continue;
    }
    return error(504, "5.5.4 Unrecognized authentication type");
}

Session::Action Session::handle_sasl(std::string_view line) {
    if (is_cancel(line)) {  // RFC 4954 §4: "*" cancels the exchange
        sasl_ = SaslStep::None;
        return error(501, "5.0.0 Authentication cancelled");
    }
    auto decoded = policy::base64_decode(line);
    if (!decoded) {
        sasl_ = SaslStep::None;
        return error(501, "5.5.2 Error: invalid base64 data");
    }
    switch (sasl_) {
        case SaslStep::None:  // not reached: handle_line routes only during an exchange
        case SaslStep::PlainResponse: {
            sasl_ = SaslStep::None;
            auto p = parse_sasl_plain(*decoded);
            // An authorization identity other than the login is not supported.
            if (!p || (!p->authzid.empty() && p->authzid != p->authcid))
                return auth_result(false, p ? p->authcid : std::string());
            return auth_result(state_->users->check(p->authcid, p->password), p->authcid);
        }
        case SaslStep::LoginUser:
            sasl_user_ = std::move(*decoded);
            sasl_ = SaslStep::LoginPassword;
            reply(334, "UGFzc3dvcmQ6");  // "Password:"
            return Action::Continue;
        case SaslStep::LoginPassword: {
            sasl_ = SaslStep::None;
            std::string user = std::move(sasl_user_);
            sasl_user_.clear();
            return auth_result(!user.empty() && state_->users->check(user, *decoded), user);
        }
    }
    return Action::Continue;
}

Session::Action Session::auth_result(bool ok, const std::string& user) {
    if (!ok) {
        spdlog::warn("inbound {}: authentication failed for '{}'", client_ip_, user);
        return error(535, "5.7.8 Authentication credentials invalid");
    }
    auth_user_ = user;
    spdlog::info("inbound {}: authenticated as '{}'", client_ip_, user);
    reply(235, "2.7.0 Authentication successful");
    return Action::Continue;
}

}  // namespace chainmail::inbound
