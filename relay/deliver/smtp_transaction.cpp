// The mail transaction of smtp_client: MAIL, RCPT, DATA (pipelined when the
// peer offers it, RFC 2920), the dot-stuffed body and the per-recipient replies;
// or, when the peer offers CHUNKING (RFC 3030), BDAT with the body as it is.
#include "policy/failure_table.hpp"
#include "policy/smtp_codec.hpp"
#include "relay/deliver/smtp_client.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace chainmail::deliver {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kBodyBlock = 64 * 1024;

// RFC 5321 §4.5.2: a period that starts a line is doubled. Line by line
// (memchr for the LF), not byte by byte: the body is the bulk of the work.
void stuff_into(std::string_view in, bool& line_start, std::string& out) {
    std::size_t i = 0;
    while (i < in.size()) {
        if (line_start && in[i] == '.') out.push_back('.');
        const std::size_t lf = in.find('\n', i);
        const std::size_t end = lf == std::string_view::npos ? in.size() : lf + 1;
        out.append(in.data() + i, end - i);
        line_start = lf != std::string_view::npos;
        i = end;
    }
}

bool ends_with_crlf(std::string_view s) {
    return s.size() >= 2 && s.substr(s.size() - 2) == "\r\n";
}

bool non_ascii(std::string_view s) {
    for (const char c : s) {
        if (static_cast<unsigned char>(c) > 127) return true;
    }
    return false;
}

std::string notify_param(std::uint8_t bits) {
    if (bits & spool::kNotifyNever) return "NEVER";
    std::string s;
    if (bits & spool::kNotifySuccess) s += "SUCCESS,";
    if (bits & spool::kNotifyFailure) s += "FAILURE,";
    if (bits & spool::kNotifyDelay) s += "DELAY,";
    if (!s.empty()) s.pop_back();
    return s;
}

// Our own refusal, as the reply the failure table gives it (failure_table.hpp).
StepResult local(policy::Unsendable u, std::string text) {
    policy::UnsendableReply as = policy::unsendable_reply(u);
    policy::SmtpReply r{as.code, std::move(as.status), {text}};
    return StepResult{Failure::Local, Stage::Mail, std::move(r), std::move(text)};
}

}  // namespace

std::string dot_stuff(std::string_view data) {
    std::string out;
    out.reserve(data.size() + data.size() / 64 + 5);
    bool line_start = true;
    stuff_into(data, line_start, out);
    if (!data.empty() && !ends_with_crlf(data)) out += "\r\n";
    out += ".\r\n";
    return out;
}

asio::awaitable<bool> Connection::send_body(const Message& m, StepResult& r) {
    const std::string_view data = m.data;
    bool line_start = true;
    std::string block;
    for (std::size_t off = 0; off < data.size(); off += kBodyBlock) {
        block.clear();
        stuff_into(data.substr(off, kBodyBlock), line_start, block);
        // The last block goes out with the final dot: one write (over TLS,
        // one record) fewer per message.
        if (off + kBodyBlock >= data.size()) break;
        if (!co_await send(block, Stage::Body, r)) co_return false;
    }
    if (!go_ahead(m, r)) co_return false;
    // RFC 5321 §4.1.1.4: the data ends with CRLF "." CRLF.
    block += (!data.empty() && !ends_with_crlf(data)) ? "\r\n.\r\n" : ".\r\n";
    co_return co_await send(block, Stage::Dot, r);
}

bool Connection::go_ahead(const Message& m, StepResult& r) {
    if (!m.go_ahead || m.go_ahead()) return true;
    // The last moment to call it back: without the final dot (or the last
    // chunk) the next hop has nothing to deliver (RFC 5321 §3.3, §4.1.1.4;
    // RFC 3030 §2).
    close();
    r = StepResult{Failure::Lost, Stage::Dot, {}, "stopped before the end of data"};
    return false;
}

asio::awaitable<bool> Connection::send_chunk(const Message& m, std::string& head, StepResult& r) {
    if (!go_ahead(m, r)) co_return false;
    // RFC 3030 §2: exactly <size> octets follow the BDAT line; no dot-stuffing
    // and no end marker. One chunk with LAST: the whole message is in memory.
    const std::string_view data = m.data;
    const bool add_crlf = !data.empty() && !ends_with_crlf(data);
    const std::size_t size = data.size() + (add_crlf ? 2 : 0);
    head += "BDAT " + std::to_string(size) + " LAST\r\n";
    if (data.size() <= kBodyBlock) {
        // Commands, BDAT and the message in one write (over TLS, one record).
        head.append(data);
        if (add_crlf) head += "\r\n";
        co_return co_await send(head, Stage::Dot, r);
    }
    if (!co_await send(head, Stage::Body, r)) co_return false;
    for (std::size_t off = 0; off < data.size(); off += kBodyBlock) {
        const std::string_view block = data.substr(off, kBodyBlock);
        const bool last = off + kBodyBlock >= data.size() && !add_crlf;
        if (!co_await send(block, last ? Stage::Dot : Stage::Body, r)) co_return false;
    }
    if (!add_crlf) co_return true;
    const std::string_view crlf = "\r\n";
    co_return co_await send(crlf, Stage::Dot, r);
}

asio::awaitable<bool> Connection::reset(StepResult& r) {
    const std::string_view line = "RSET\r\n";
    if (!co_await send(line, Stage::Rset, r)) co_return false;
    co_return co_await reset_reply(r);
}

asio::awaitable<bool> Connection::reset_reply(StepResult& r) {
    const policy::SmtpReply rs = co_await read_reply(Stage::Rset, r);
    if (!r.ok()) co_return false;
    if (!rs.positive()) {
        // The rest of a pipelined group is abandoned with the connection: no
        // data was sent, so the next hop has nothing to deliver.
        r = StepResult{Failure::Reply, Stage::Rset, rs, "RSET refused: " + rs.str()};
        close();
        co_return false;
    }
    co_return true;
}

asio::awaitable<TransactionResult> Connection::transaction(const Message& m) {
    TransactionResult t;
    t.rcpt.resize(m.recipients.size());
    StepResult& r = t.result;
    if (!usable_) {
        r = StepResult{Failure::Lost, Stage::Mail, {}, "the connection is no longer usable"};
        co_return t;
    }
    const Extensions& e = facts_.extensions;
    // Checks that need no round trip: nothing is sent for a message that cannot go.
    if (e.size && e.size_limit > 0 && m.data.size() > e.size_limit) {
        // RFC 1870 §6: a message over the declared maximum is a permanent failure.
        r = local(policy::Unsendable::TooBig,
                  "message size " + std::to_string(m.data.size()) + " exceeds the limit of " +
                      std::to_string(e.size_limit) + " bytes of the next hop");
        co_return t;
    }
    if (m.requiretls && !(facts_.tls_up && e.requiretls)) {
        // RFC 8689 §4.2.1: REQUIRETLS mail goes only to a hop that offers it over TLS.
        r = local(policy::Unsendable::RequireTls, "REQUIRETLS not supported by the next hop");
        co_return t;
    }
    if (m.data.find('\0') != std::string_view::npos) {
        // RFC 5321 §2.3.8: NUL is not text, and BINARYMIME (RFC 3030) is never
        // used. Inbound refuses it; a message spooled before that never leaves.
        r = local(policy::Unsendable::NulBytes, "the message contains NUL characters");
        co_return t;
    }
    bool utf8_envelope = non_ascii(m.sender);
    for (const auto& rc : m.recipients) utf8_envelope = utf8_envelope || non_ascii(rc.address);
    if (utf8_envelope && !e.smtputf8) {
        // RFC 6531 §3.4: a non-ASCII envelope cannot go to a hop without SMTPUTF8.
        r = local(policy::Unsendable::Utf8Envelope,
                  "the next hop does not support SMTPUTF8 addresses");
        co_return t;
    }
    // A reused connection starts with RSET (the previous transaction may have
    // ended without a final reply). With PIPELINING it opens the group below,
    // RFC 2920 §3.1: one round trip fewer per message.
    const bool rset = transactions_++ > 0;
    if (rset && !e.pipelining) {
        // Named, not an operand of &&: g++ 12 crashed on that form here.
        const bool reset_ok = co_await reset(r);
        if (!reset_ok) co_return t;
    }

    std::string mail = "MAIL FROM:<" + m.sender + ">";
    if (e.size) mail += " SIZE=" + std::to_string(m.data.size());
    if (m.body == spool::BodyType::EightBitMime && e.eightbitmime) mail += " BODY=8BITMIME";
    if (m.smtputf8 && e.smtputf8) mail += " SMTPUTF8";
    if (m.requiretls) mail += " REQUIRETLS";
    bool dsn_wanted = m.ret != spool::Ret::Unspecified || !m.envid.empty();
    for (const auto& rc : m.recipients) dsn_wanted = dsn_wanted || rc.notify || !rc.orcpt.empty();
    if (e.dsn) {
        // RFC 3461 §4: DSN parameters pass on unchanged when the next hop offers DSN.
        if (m.ret == spool::Ret::Full) mail += " RET=FULL";
        if (m.ret == spool::Ret::Hdrs) mail += " RET=HDRS";
        if (!m.envid.empty()) mail += " ENVID=" + policy::xtext_encode(m.envid);
    } else {
        t.dsn_dropped = dsn_wanted;  // RFC 3461 §4.1: success is then reported as "relayed"
    }
    std::vector<std::string> rcpts;
    for (const auto& rc : m.recipients) {
        std::string line = "RCPT TO:<" + rc.address + ">";
        if (e.dsn && rc.notify) line += " NOTIFY=" + notify_param(rc.notify);
        if (e.dsn && !rc.orcpt.empty()) line += " ORCPT=" + rc.orcpt;
        rcpts.push_back(std::move(line));
    }

    // RFC 3030: with CHUNKING the message goes as one "BDAT <size> LAST",
    // not dot-stuffed, and its reply is the final one: no 354 round trip.
    // With PIPELINING too it joins the group (RFC 3030 §4.2): the whole
    // message costs one round trip. Used whenever offered, as Exim does,
    // unless the partner's rule says `chunking: false`.
    const bool bdat = e.chunking && m.chunking;
    t.chunked = bdat;
    policy::SmtpReply data_reply;
    if (e.pipelining) {
        // RFC 2920 §3.1: MAIL, RCPTs and DATA in one group; replies in order.
        std::string batch = rset ? "RSET\r\n" : "";
        batch += mail + "\r\n";
        for (const auto& l : rcpts) batch += l + "\r\n";
        t.pipelined = true;
        if (bdat) {
            if (!co_await send_chunk(m, batch, r)) co_return t;
        } else {
            batch += "DATA\r\n";
            if (!co_await send(batch, Stage::Mail, r)) co_return t;
        }
        if (rset) {
            const bool reset_ok = co_await reset_reply(r);
            if (!reset_ok) co_return t;
        }
        t.mail = co_await read_reply(Stage::Mail, r);
        if (!r.ok()) co_return t;
        for (std::size_t i = 0; i < rcpts.size(); ++i) {
            t.rcpt[i] = co_await read_reply(Stage::Rcpt, r);
            if (!r.ok()) co_return t;
        }
        // RFC 3030 §2: a chunk behind a refused MAIL or with no recipient is
        // refused and discarded by the receiver; its reply is read all the same.
        data_reply = co_await read_reply(bdat ? Stage::Dot : Stage::Data, r);
        if (!r.ok()) co_return t;
    } else {
        t.mail = co_await command(mail, Stage::Mail, r);
        if (!r.ok()) co_return t;
        if (t.mail.positive()) {
            for (std::size_t i = 0; i < rcpts.size(); ++i) {
                t.rcpt[i] = co_await command(rcpts[i], Stage::Rcpt, r);
                if (!r.ok()) co_return t;
            }
        }
    }
    std::size_t accepted = 0;
    for (const auto& rp : t.rcpt) accepted += rp.positive() ? 1 : 0;
    if (!t.mail.positive() || accepted == 0) {
        if (!bdat && data_reply.code == 354) {
            // RFC 2920 §3.1: DATA accepted although no recipient was: end it empty.
            policy::SmtpReply dot = co_await command(".", Stage::Dot, r);
            if (!r.ok()) co_return t;
        }
        if (!t.mail.positive()) {
            r = StepResult{Failure::Reply, Stage::Mail, t.mail, "MAIL refused: " + t.mail.str()};
        } else {
            r = StepResult{Failure::Reply, Stage::Rcpt, t.rcpt.back(), "no recipient accepted"};
        }
        co_return t;
    }
    if (bdat) {
        if (!e.pipelining) {
            std::string none;
            if (!co_await send_chunk(m, none, r)) co_return t;
            data_reply = co_await read_reply(Stage::Dot, r);
            if (!r.ok()) co_return t;
        }
        t.data = data_reply;
    } else {
        if (!e.pipelining) {
            data_reply = co_await command("DATA", Stage::Data, r);
            if (!r.ok()) co_return t;
        }
        if (data_reply.code != 354) {
            t.data = data_reply;
            r = StepResult{Failure::Reply, Stage::Data, data_reply,
                           "DATA refused: " + data_reply.str()};
            co_return t;
        }
        if (!co_await send_body(m, r)) co_return t;
        t.data = co_await read_reply(Stage::Dot, r);
        if (!r.ok()) co_return t;
    }
    if (!t.data.positive()) {
        r = StepResult{Failure::Reply, Stage::Dot, t.data, "message refused: " + t.data.str()};
    }
    co_return t;
}

}  // namespace chainmail::deliver
