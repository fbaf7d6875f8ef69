#include "relay/bounce/ndr.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <random>
#include <stdexcept>

#include "policy/smtp_codec.hpp"
#include "relay/bounce/mime_encode.hpp"
#include "relay/bounce/ndr_text.hpp"

namespace chainmail::bounce {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool has_8bit(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return (c & 0x80) != 0; });
}

// The header block of the original, with its final CRLF.
std::string_view header_block(std::string_view original) {
    if (original.rfind("\r\n", 0) == 0) return {};
    std::size_t end = original.find("\r\n\r\n");
    return end == std::string_view::npos ? original : original.substr(0, end + 2);
}

// The unfolded value of the first header `name`, or "".
std::string header_value(std::string_view headers, std::string_view name) {
    std::string want = lower(name) + ":";
    std::size_t pos = 0;
    while (pos < headers.size()) {
        std::size_t eol = headers.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = headers.size();
        if (lower(headers.substr(pos, want.size())) == want) {
            std::string value(headers.substr(pos + want.size(), eol - pos - want.size()));
            // RFC 5322 §2.2.3: unfold the continuation lines.
            while (eol + 2 < headers.size() &&
                   (headers[eol + 2] == ' ' || headers[eol + 2] == '\t')) {
                std::size_t next = headers.find("\r\n", eol + 2);
                if (next == std::string_view::npos) next = headers.size();
                value += headers.substr(eol + 2, next - eol - 2);
                eol = next;
            }
            std::size_t a = value.find_first_not_of(" \t");
            std::size_t b = value.find_last_not_of(" \t");
            return a == std::string::npos ? "" : value.substr(a, b - a + 1);
        }
        pos = eol + 2;
    }
    return "";
}

std::string random_hex(std::size_t bytes) {
    std::random_device rd;
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", rd() & 0xff);
    return out;
}

// A time for a person: local in ndr.timezone, with its offset (never the
// structured fields, which stay RFC 5322 dates in UTC).
std::string local_date(const config::Config& config, std::int64_t unix_ms) {
    const std::int64_t s = unix_ms / 1000 - (unix_ms % 1000 < 0);
    return human_date(unix_ms, config::utc_offset(config.ndr.timezone, s));
}

std::string duration_text(config::Duration d) {
    auto s = d.count();
    if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
    if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
    if (s % 60 == 0) return fmt::format("{}m", s / 60);
    return fmt::format("{}s", s);
}

// An address for a structured DSN field: rfc822 when ASCII, else RFC 6533 utf-8.
std::string address_field(std::string_view addr) {
    if (is_ascii(addr)) return "rfc822; " + std::string(addr);
    return "utf-8; " + utf8_addr_xtext(addr);
}

// RFC 3461 §4.2 / RFC 3464 §2.3.1: ORCPT as "addr-type; address", xtext-decoded.
std::string original_recipient(std::string_view orcpt) {
    std::size_t semi = orcpt.find(';');
    // Inbound accepted only valid xtext; anything else is shown as it came.
    auto decode = [](std::string_view x) {
        return policy::xtext_decode(x).value_or(std::string(x));
    };
    if (semi == std::string_view::npos) return "rfc822; " + ascii_only(decode(orcpt));
    std::string type(orcpt.substr(0, semi));
    std::string addr = decode(orcpt.substr(semi + 1));
    if (lower(type) == "utf-8") return "utf-8; " + ascii_only(addr);  // already utf-8-addr-xtext
    return type + "; " + ascii_only(addr);
}

std::string domain_of(std::string_view addr) {
    std::size_t at = addr.rfind('@');
    return at == std::string_view::npos ? std::string() : std::string(addr.substr(at + 1));
}

const config::Partner* find_partner(const config::Config& config, std::string_view name) {
    for (const config::Partner& p : config.partners) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

// What a person reads: the display name, else the configured name, else the domain.
std::string partner_name(const config::Partner* partner, std::string_view address) {
    if (!partner) return domain_of(address);
    return partner->display_name.empty() ? partner->name : partner->display_name;
}

std::string delivery_status(const config::Config& config, const spool::Envelope& env,
                            std::span<const NdrRecipient> recipients, std::int64_t retry_until) {
    std::string out;
    // RFC 3464 §2.2: the per-message fields, then one group per recipient.
    if (!env.envid.empty()) out += header_line("Original-Envelope-Id", ascii_only(env.envid));
    out += header_line("Reporting-MTA", "dns; " + config.hostname);  // RFC 3464 §2.2.2 MUST
    if (!env.id.empty()) out += header_line("X-Chainmail-Queue-ID", ascii_only(env.id));
    if (env.arrival_ms > 0) out += header_line("Arrival-Date", rfc5322_date(env.arrival_ms));
    for (const NdrRecipient& r : recipients) {
        out += "\r\n";
        // RFC 3461 §6.3: Original-Recipient MUST be given when ORCPT was.
        if (!r.orcpt.empty()) out += header_line("Original-Recipient", original_recipient(r.orcpt));
        out += header_line("Final-Recipient", address_field(r.address));
        out += header_line("Action", action_word(r.outcome, r.relayed));
        out += header_line("Status", r.status);  // the failure table's (RFC 3464 §2.3.4)
        if (!r.host.empty()) out += header_line("Remote-MTA", "dns; " + ascii_only(r.host));
        if (!r.reply.empty()) {
            out += header_line("Diagnostic-Code", "smtp; " + ascii_only(r.reply));
        } else if (r.reason != policy::Reason::None || !r.detail.empty()) {
            std::string what(policy::to_string(r.reason));
            if (!r.detail.empty()) what += ": " + r.detail;
            out += header_line("Diagnostic-Code", "X-Chainmail; " + ascii_only(what));
        }
        if (r.last_attempt_ms > 0) {
            out += header_line("Last-Attempt-Date", rfc5322_date(r.last_attempt_ms));
        }
        // RFC 3464 §2.3.9: Will-Retry-Until only for Action: delayed.
        if (action_word(r.outcome, r.relayed) == "delayed" && retry_until > 0) {
            out += header_line("Will-Retry-Until", rfc5322_date(retry_until));
        }
    }
    return out;
}

// The report's Subject: our words, then the original subject.
std::string subject_value(std::string_view words, std::string_view original_subject) {
    if (original_subject.empty()) return encode_words(words);
    std::string prefix = std::string(words) + ": ";
    if (is_ascii(original_subject)) {
        // Keep the original as written (it may hold encoded-words); our words
        // carry the separating space inside their own encoded-word.
        return is_ascii(prefix) ? prefix + std::string(original_subject)
                                : encode_words(prefix) + " " + std::string(original_subject);
    }
    return encode_words(prefix + std::string(original_subject));
}

}  // namespace

bool report_wanted(const spool::Envelope& env, const spool::Recipient& rcpt,
                   policy::RcptOutcome o) {
    // RFC 3461 §6.2 / RFC 5321 §6.1: never a report to the null sender.
    if (env.sender.empty()) return false;
    const policy::Notify n{
        (rcpt.notify & spool::kNotifyNever) != 0, (rcpt.notify & spool::kNotifySuccess) != 0,
        (rcpt.notify & spool::kNotifyFailure) != 0, (rcpt.notify & spool::kNotifyDelay) != 0};
    return policy::report_wanted(o, n);
}

NdrMessage build_ndr(const config::Config& config, const NdrTemplates& templates,
                     const spool::Envelope& env, std::string_view original,
                     std::span<const NdrRecipient> recipients, const NdrOptions& options) {
    if (env.sender.empty()) throw std::invalid_argument("no report to the null sender");
    if (recipients.empty()) throw std::invalid_argument("a report needs a recipient");
    const ReportKind kind = report_kind(recipients.front().outcome);
    for (const NdrRecipient& r : recipients) {
        if (report_kind(r.outcome) != kind) {
            throw std::invalid_argument("one report covers one kind of outcome");
        }
        if (r.status.empty()) throw std::invalid_argument("no status for " + r.address);
        bool known = std::any_of(env.recipients.begin(), env.recipients.end(),
                                 [&](const spool::Recipient& e) { return e.address == r.address; });
        if (!known) throw std::invalid_argument("not a recipient of this message: " + r.address);
    }

    const std::string& host = config.hostname;
    std::string_view headers = header_block(original);
    std::string orig_subject = header_value(headers, "Subject");
    std::string orig_id = header_value(headers, "Message-ID");
    if (orig_id.empty()) orig_id = env.message_id;
    std::int64_t retry_until = options.retry_until_ms > 0
                                   ? options.retry_until_ms
                                   : env.arrival_ms + config.queue.max_lifetime.count() * 1000;

    NdrMessage msg;
    msg.kind = kind;
    msg.message_id =
        !options.message_id.empty()
            ? options.message_id
            : fmt::format("<{}.{}.ndr@{}>", env.id.empty() ? "x" : env.id, random_hex(8), host);

    // The human-readable part.
    Placeholders common{
        {"hostname", host},
        {"subject", decode_words(orig_subject)},
        {"arrival", env.arrival_ms > 0 ? local_date(config, env.arrival_ms) : ""},
        {"sender", env.sender},
        {"lifetime", duration_text(config.queue.max_lifetime)},
        {"retry_until", retry_until > 0 ? local_date(config, retry_until) : ""},
        {"queue_id", env.id},
        {"service_desk", config.ndr.service_desk},
    };
    std::vector<TextRecipient> text_rcpts;
    for (const NdrRecipient& r : recipients) {
        const config::Partner* partner = find_partner(config, r.partner);
        std::string reply;
        for (char c : r.reply) reply += (c == '\r') ? ' ' : (c == '\n' ? ' ' : c);
        text_rcpts.push_back(
            TextRecipient{template_for(r.reason, r.outcome, r.reply),
                          Placeholders{
                              {"recipient", r.address},
                              {"partner", partner_name(partner, r.address)},
                              {"contact", partner ? partner->contact : ""},
                              {"host", r.host},
                              {"ip", r.ip},
                              {"level", r.level ? std::string(policy::to_string(*r.level)) : ""},
                              {"reply", reply},
                              {"detail", r.detail},
                              {"status", r.status},
                          }});
    }
    std::string text = compose_text(templates, config.ndr.languages, kind, common, text_rcpts);
    std::string languages;
    for (const std::string& l : config.ndr.languages)
        languages += (languages.empty() ? "" : ", ") + l;

    // The returned content: the whole message only for a failure report.
    // RFC 8689 §5: the report on a REQUIRETLS message is sent without
    // REQUIRETLS, so it is redacted: the original headers, never the body,
    // whatever RET= or ndr.return say.
    bool full = kind == ReportKind::Failure && !env.requiretls &&
                (env.ret == spool::Ret::Full ||
                 (env.ret == spool::Ret::Unspecified && config.ndr.return_full));
    std::string_view returned = full ? original : headers;
    bool returned_8bit = has_8bit(returned);
    std::string return_type =
        full ? (env.smtputf8 ? "message/global" : "message/rfc822")
             : (env.smtputf8 ? "message/global-headers" : "text/rfc822-headers");
    msg.eight_bit = returned_8bit;
    msg.smtputf8 = !is_ascii(env.sender);

    // Derived from the Message-ID, so a report is reproducible; "=_" never
    // occurs in quoted-printable text, and the original is searched.
    std::string boundary;
    for (std::uint64_t salt = 0;
         boundary.empty() || original.find(boundary) != std::string_view::npos; ++salt) {
        std::uint64_t h = 14695981039346656037ull ^ salt;  // FNV-1a
        for (unsigned char c : msg.message_id) h = (h ^ c) * 1099511628211ull;
        boundary = fmt::format("=_chainmail_{:016x}", h);
    }

    std::string& out = msg.bytes;
    out += header_line("From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
    out += header_line("To", "<" + env.sender + ">");
    out += header_line(
        "Subject",
        subject_value(subject_words(templates, config.ndr.languages, kind), orig_subject));
    out += header_line("Date", rfc5322_date(options.now_ms));
    out += header_line("Message-ID", msg.message_id);
    if (!orig_id.empty() && is_ascii(orig_id)) {
        out += header_line("In-Reply-To", orig_id);
        out += header_line("References", orig_id);
    }
    out += header_line("Auto-Submitted", "auto-replied");  // RFC 3834 §5
    out += header_line("MIME-Version", "1.0");
    // RFC 6522 §3: report-type names the second part.
    out +=
        header_line("Content-Type",
                    "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
    out += header_line("Content-Transfer-Encoding", msg.eight_bit ? "8bit" : "7bit");
    out += "\r\nThis is a delivery status notification in MIME format.\r\n";

    // RFC 6522 §3: the first part is the human-readable explanation.
    out += "\r\n--" + boundary + "\r\n";
    out += header_line("Content-Type", "text/plain; charset=utf-8");
    out += header_line("Content-Transfer-Encoding", "quoted-printable");
    out += header_line("Content-Language", languages.empty() ? "en" : languages);
    out += header_line("Content-Description", "Notification");
    out += "\r\n" + quoted_printable(text);

    out += "\r\n--" + boundary + "\r\n";
    out += header_line("Content-Type", "message/delivery-status");
    out += header_line("Content-Description", "Delivery report");
    out += "\r\n" + delivery_status(config, env, recipients, retry_until);

    out += "\r\n--" + boundary + "\r\n";
    out += header_line("Content-Type", return_type);
    out += header_line("Content-Description", full ? "Undelivered message" : "Message headers");
    // RFC 2046 §5.2.1: message/rfc822 takes only 7bit, 8bit or binary.
    out += header_line("Content-Transfer-Encoding", returned_8bit ? "8bit" : "7bit");
    out += "\r\n";
    out += returned;
    if (!returned.empty() &&
        returned.substr(returned.size() - std::min<std::size_t>(2, returned.size())) != "\r\n") {
        out += "\r\n";
    }
    out += "\r\n--" + boundary + "--\r\n";
    return msg;
}

}  // namespace chainmail::bounce
