// The sender's marks: subject tags and header values from `sensitive`, why
// they count, the tag removed from the Subject, and "TLS-Required: No".
#include <catch2/catch.hpp>

#include "relay/deliver/sensitive_mark.hpp"

using namespace chainmail;
using namespace chainmail::deliver;

namespace {

config::Sensitive marks() {
    config::Sensitive s;
    s.subject_tags = {"[vertrouwelijk]", "[secure]"};
    s.headers["Sensitivity"] = {"Private", "Company-Confidential"};
    return s;
}

std::string msg(const std::string& headers) {
    return "From: a@gemeente.nl\r\n" + headers + "Message-ID: <1@gemeente.nl>\r\n\r\nbody\r\n";
}

}  // namespace

TEST_CASE("a subject tag or a header value marks a message, and the log says which") {
    struct Row {
        const char* headers;
        const char* why;
    };
    const Row rows[] = {
        {"Subject: [vertrouwelijk] Dossier 12\r\n", "subject tag \"[vertrouwelijk]\""},
        {"Subject: Dossier [SECURE]\r\n", "subject tag \"[secure]\""},
        {"Subject: Dossier\r\n [vertrouwelijk]\r\n", "subject tag \"[vertrouwelijk]\""},  // folded
        {"sensitivity: company-confidential\r\n", "header \"Sensitivity: Company-Confidential\""},
        {"Sensitivity: Private\r\n", "header \"Sensitivity: Private\""},
        {"Sensitivity: Personal\r\n", ""},  // Outlook's "Personal" is not listed
        {"Subject: vertrouwelijk\r\n", ""},
        {"X-Subject: [vertrouwelijk]\r\n", ""},
    };
    for (const Row& r : rows) {
        INFO(r.headers);
        CHECK(sensitive_why(marks(), msg(r.headers)) == r.why);
    }
    // Only the header section counts.
    CHECK(sensitive_why(marks(), "Subject: x\r\n\r\nSensitivity: Private\r\n").empty());
    CHECK(sensitive_why(config::Sensitive{}, msg("Subject: [vertrouwelijk]\r\n")).empty());
}

TEST_CASE("subject tags are removed before delivery, the rest stays") {
    const std::optional<std::string> out =
        strip_subject_tags(marks(), msg("Subject: [vertrouwelijk] Dossier 12\r\n"));
    REQUIRE(out);
    CHECK(*out == msg("Subject: Dossier 12\r\n"));
    // Nothing to remove: no copy, the caller sends the message as it is.
    CHECK_FALSE(strip_subject_tags(marks(), msg("Subject: Dossier 12\r\n")));
}

TEST_CASE("TLS-Required: No is found in the header section only (RFC 8689 §3)") {
    CHECK(tls_required_no(msg("TLS-Required: No\r\n")));
    CHECK(tls_required_no(msg("tls-required:   no\r\n")));
    CHECK_FALSE(tls_required_no(msg("TLS-Required: Yes\r\n")));
    CHECK_FALSE(tls_required_no(msg("X-TLS-Required: No\r\n")));
    CHECK_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));
}
