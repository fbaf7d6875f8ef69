// What a civil servant reads in a report: each language part wholly in its
// language, the service desk in every kind of report, the partner's display
// name, and a hold notice that says the message will still go out.
#include <set>

#include "tests/unit/bounce/ndr_scenario.hpp"

using namespace chainmail;
using namespace chainmail::bounce;
using namespace chainmail::bounce::test;
using policy::Reason;

namespace {

const char* kServiceDesk = "ICT-servicedesk gemeente, 030 123 45 67";
const char* kEnglishDetail = "the receiving server mx.ziekenhuis-west.nl does not offer encryption";
const char* kEnglishReply = "550 5.7.1 The recipient server could not accept this message";

// The body of the first text/plain part: quoted-printable decoded, LF ends.
std::string human_text(const std::string& bytes) {
    const std::string marker = "Content-Description: Notification\r\n\r\n";
    std::size_t start = bytes.find(marker);
    REQUIRE(start != std::string::npos);
    start += marker.size();
    std::size_t end = bytes.find("\r\n--=_chainmail_", start);
    std::string qp = bytes.substr(start, end - start);
    std::string out;
    for (std::size_t i = 0; i < qp.size(); ++i) {
        if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
            i += 2;  // soft line break
        } else if (qp[i] == '=' && i + 2 < qp.size()) {
            out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else if (qp[i] != '\r') {
            out += qp[i];
        }
    }
    return out;
}

// Paragraphs on one line, so that a phrase is found wherever it was wrapped.
std::string flat(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') c = ' ';
        if (c == ' ' && !out.empty() && out.back() == ' ') continue;
        out += c;
    }
    return out;
}

// The text of each language, split at the rule line between them.
std::vector<std::string> language_parts(const std::string& text) {
    std::vector<std::string> parts;
    const std::string rule = "\n" + std::string(72, '_') + "\n";
    std::size_t pos = 0;
    for (std::size_t next; (next = text.find(rule, pos)) != std::string::npos;
         pos = next + rule.size())
        parts.push_back(text.substr(pos, next - pos));
    parts.push_back(text.substr(pos));
    return parts;
}

// Wrapped list items joined back into one line each.
std::vector<std::string> logical_lines(const std::string& part) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos <= part.size()) {
        std::size_t eol = part.find('\n', pos);
        std::string line = part.substr(pos, eol == std::string::npos ? eol : eol - pos);
        if (line.rfind("  ", 0) == 0 && !lines.empty() && lines.back().rfind("- ", 0) == 0)
            lines.back() += line.substr(1);
        else
            lines.push_back(line);
        if (eol == std::string::npos) break;
        pos = eol + 1;
    }
    return lines;
}

// Words that are English and never Dutch; a line holding one is English.
std::vector<std::string> english_words(const std::string& line) {
    static const std::set<std::string> english = {
        "the",     "and",         "to",     "not",       "your",      "you",     "does",
        "did",     "could",       "would",  "receiving", "reply",     "offer",   "encryption",
        "message", "delivered",   "sent",   "failed",    "with",      "from",    "this",
        "that",    "have",        "been",   "which",     "what",      "when",    "for",
        "no",      "certificate", "please", "held",      "recipient", "server's"};
    std::vector<std::string> found;
    std::string word;
    for (char c : line + " ") {
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
            word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            if (english.count(word)) found.push_back(word);
            word.clear();
        }
    }
    return found;
}

// The English lines of a Dutch part. The receiving server's own reply is
// quoted verbatim, marked as such ("letterlijk"), and is not ours to translate.
std::vector<std::string> english_lines(const std::string& dutch_part) {
    std::vector<std::string> bad;
    for (std::string line : logical_lines(dutch_part)) {
        const std::string quoted = "- Antwoord van de server, letterlijk: \"";
        if (line.rfind(quoted, 0) == 0 && line.back() == '"') line = quoted;
        if (!english_words(line).empty()) bad.push_back(line);
    }
    return bad;
}

Scenario with_english_facts(Scenario s) {
    for (auto& r : s.rcpts) {
        r.detail = kEnglishDetail;
        r.reply = kEnglishReply;
    }
    return s;
}

}  // namespace

TEST_CASE("the word check finds an English line, so that it can fail") {
    CHECK_FALSE(english_lines("- Details: the receiving server does not offer encryption").empty());
    CHECK(english_lines("- Probleem: de server bood geen STARTTLS aan.").empty());
    CHECK(
        english_lines("- Antwoord van de server, letterlijk: \"550 The mailbox is full\"").empty());
}

TEST_CASE("every line of the Dutch part is Dutch, for every reason and kind of report") {
    const Reason reasons[] = {
        Reason::StartTlsNotOffered,
        Reason::StartTlsRefused,
        Reason::HandshakeFailed,
        Reason::TlsVersionTooLow,
        Reason::CertificateChain,
        Reason::CertificateName,
        Reason::FingerprintMismatch,
        Reason::TlsaMismatch,
        Reason::NoUsableTlsa,
        Reason::NoDnssec,
        Reason::MtaStsMxMismatch,
        Reason::RequireTlsNotOffered,
        Reason::DnssecBogus,
        Reason::NullMx,
        Reason::NoSuchDomain,
        Reason::Cancelled,
        Reason::DnsTempFail,
        Reason::ConnectFailed,
        Reason::Expired,
        Reason::None,
        Reason::Unknown,
    };
    struct Kind {
        const char* name;
        policy::RcptOutcome outcome;
    };
    const Kind kinds[] = {{"failed", policy::RcptOutcome::Bounced},
                          {"delayed", policy::RcptOutcome::Deferred},
                          {"held", policy::RcptOutcome::Held},
                          {"delivered", policy::RcptOutcome::Delivered}};
    for (const Kind& kind : kinds) {
        for (Reason reason : reasons) {
            Scenario s = with_english_facts(Scenario{});
            s.config.ndr.service_desk = kServiceDesk;
            s.outcome(kind.outcome).reason(reason);
            std::string text = human_text(s.build().bytes);
            auto parts = language_parts(text);
            REQUIRE(parts.size() == 2);
            INFO(kind.name << " / " << policy::to_string(reason) << "\n" << parts[0]);
            CHECK(english_lines(parts[0]) == std::vector<std::string>{});
            CHECK(parts[0].find("Nederlandse versie") != std::string::npos);
            // The English part keeps the facts, and the word check sees them.
            CHECK_FALSE(english_lines(parts[1]).empty());
        }
    }
}

TEST_CASE("the Dutch texts: voorlopig, and no second 'not received' after 'not delivered'") {
    auto text = flat(human_text(Scenario{}.build().bytes));
    CHECK(text.find("Voor nu") == std::string::npos);
    CHECK(text.find("voorlopig") != std::string::npos);
    CHECK(text.find("Zij hebben het niet ontvangen") == std::string::npos);
    CHECK(text.find("They have not received it") == std::string::npos);
    for (const ShippedTemplate& t : shipped_templates()) {
        INFO(t.file);
        CHECK(t.text.find("Voor nu") == std::string_view::npos);
        CHECK(t.text.find("niet ontvangen") == std::string_view::npos);
    }
}

TEST_CASE("ndr.service_desk stands in every kind of report, in both languages") {
    struct Kind {
        const char* name;
        policy::RcptOutcome outcome;
    };
    for (const Kind& kind :
         {Kind{"bounce", policy::RcptOutcome::Bounced},
          Kind{"delay", policy::RcptOutcome::Deferred}, Kind{"hold", policy::RcptOutcome::Held},
          Kind{"success", policy::RcptOutcome::Delivered}}) {
        SECTION(kind.name) {
            Scenario s;
            s.config.ndr.service_desk = kServiceDesk;
            s.outcome(kind.outcome);
            auto parts = language_parts(human_text(s.build().bytes));
            REQUIRE(parts.size() == 2);
            for (auto& p : parts) p = flat(p);
            CHECK(parts[0].find(std::string("Vragen over dit bericht? Neem contact op met: ") +
                                kServiceDesk) != std::string::npos);
            CHECK(parts[1].find(std::string("Questions about this message? Contact: ") +
                                kServiceDesk) != std::string::npos);
        }
    }
    // Without one, no empty line is left standing.
    auto text = human_text(Scenario{}.build().bytes);
    CHECK(text.find("Vragen over dit bericht") == std::string::npos);
    CHECK(text.find("Questions about this message") == std::string::npos);
}

TEST_CASE("the partner is named by its display_name, else by its name") {
    Scenario s;
    s.config.partners[0].display_name = "Ziekenhuis West";
    auto text = flat(human_text(s.build().bytes));
    CHECK(text.find("Uw bericht aan b.devries@ziekenhuis-west.nl (Ziekenhuis West)") !=
          std::string::npos);
    CHECK(text.find("Contact details for Ziekenhuis West:") != std::string::npos);
    CHECK(text.find("(ziekenhuis-west)") == std::string::npos);

    auto plain = flat(human_text(Scenario{}.build().bytes));
    CHECK(plain.find("(ziekenhuis-west)") != std::string::npos);
}

TEST_CASE("a hold notice says the message will still go out, so do not send it again") {
    Scenario s;
    s.outcome(policy::RcptOutcome::Held);
    auto msg = s.build();
    auto parts = language_parts(human_text(msg.bytes));
    REQUIRE(parts.size() == 2);
    const std::string nl = flat(parts[0]);
    const std::string en = flat(parts[1]);
    INFO(nl << en);
    CHECK(msg.bytes.find("Subject: Tegengehouden / Held: Overdracht") != std::string::npos);
    CHECK(nl.find("Dan wordt het alsnog verstuurd. Verstuur het bericht dus niet opnieuw.") !=
          std::string::npos);
    CHECK(en.find("it will still be sent. So do not send it again.") != std::string::npos);
    // What happens with time: no expiry while held, the usual limit after release.
    CHECK(nl.find("Zolang het bericht is tegengehouden, verloopt het niet.") != std::string::npos);
    CHECK(nl.find("5d vanaf het moment van versturen") != std::string::npos);
    CHECK(en.find("While the message is held, it does not expire.") != std::string::npos);
    // No contradictory advice from the reason's own text.
    for (const char* contradiction :
         {"andere veilige manier", "(ziekenhuis-west) is niet afgeleverd", "another secure way",
          "(ziekenhuis-west) was not delivered"}) {
        CHECK(nl.find(contradiction) == std::string::npos);
        CHECK(en.find(contradiction) == std::string::npos);
    }
    // The details for the IT department still name the cause.
    CHECK(nl.find("de server bood geen STARTTLS aan") != std::string::npos);
}

TEST_CASE("times in the text are local in ndr.timezone with their offset; fields stay UTC") {
    struct Row {
        const char* zone;
        std::int64_t arrival_ms;
        const char* text;
    };
    const Row rows[] = {
        {"Europe/Amsterdam", kArrival, "2026-11-22 13:00 (UTC+01:00)"},       // winter
        {"Europe/Amsterdam", 1782907200000, "2026-07-01 14:00 (UTC+02:00)"},  // summer
        {"America/New_York", kArrival, "2026-11-22 07:00 (UTC-05:00)"},
        {"Asia/Kolkata", kArrival, "2026-11-22 17:30 (UTC+05:30)"},
        {"UTC", kArrival, "2026-11-22 12:00 (UTC+00:00)"},
    };
    for (const Row& r : rows) {
        INFO(r.zone);
        Scenario s;
        std::string error;
        auto zone = config::load_time_zone(r.zone, config::zoneinfo_dir(), error);
        REQUIRE(zone);
        s.config.ndr.timezone = *zone;
        s.env.arrival_ms = r.arrival_ms;
        auto msg = s.build();
        auto text = human_text(msg.bytes);
        CHECK(text.find(std::string("Verstuurd: ") + r.text) != std::string::npos);
        CHECK(text.find(std::string("Sent: ") + r.text) != std::string::npos);
        // RFC 3464 §2.2.5 / §2.3.7: the structured dates are as before, in UTC.
        CHECK(msg.bytes.find("Last-Attempt-Date: Sun, 22 Nov 2026 12:01:00 +0000") !=
              std::string::npos);
        CHECK(msg.bytes.find("Date: Sun, 22 Nov 2026 12:02:00 +0000") != std::string::npos);
    }
}

TEST_CASE("a phone number is never broken over two lines") {
    // "Contactgegevens van ziekenhuis-west: Servicedesk ICT ziekenhuis-west, 010" is 74
    // columns: the number moves to the next line whole.
    auto text = human_text(Scenario{}.build().bytes);
    CHECK(text.find("\n010 123 45 67\n") != std::string::npos);
    CHECK(text.find(", 010\n") == std::string::npos);
    Placeholders values{{"contact", "Servicedesk ICT ziekenhuis-west, 010 123 45 67"}};
    CHECK(expand("Contactgegevens van de partner in Rotterdam-Zuid: {contact}", values) ==
          "Contactgegevens van de partner in Rotterdam-Zuid: Servicedesk ICT\n"
          "ziekenhuis-west, 010 123 45 67\n");
}
