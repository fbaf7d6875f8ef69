// tlsrpt_mail: the report as it travels: gzip (RFC 8460 §5.1, zlib), and the
// mail of §5.3 (multipart/report; report-type="tlsrpt" with the gzipped JSON
// as application/tlsrpt+gzip, TLS-Report-Domain and TLS-Report-Submitter). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chainmail::tlsrpt {

// RFC 1952 gzip of `data`; throws std::runtime_error only if zlib fails
// (out of memory), a broken invariant.
std::string gzip(std::string_view data);

struct ReportMail {
    std::string from;                     // contact address
    std::string from_name;                // organization (UTF-8)
    std::string to;                       // the rua's mailbox
    std::string domain;                   // TLS-Report-Domain: the policy domain
    std::string submitter;                // TLS-Report-Submitter: our host name
    std::string report_id;                // as in the JSON
    std::int64_t start_s = 0, end_s = 0;  // the period, for the file name
    std::int64_t now_ms = 0;              // Date:
    std::string gzipped;                  // the report, gzip'ed JSON
};

// The message, CRLF lines, ready for the spool; `message_id` gets "<...@submitter>".
std::string build_report_mail(const ReportMail& m, std::string& message_id);

// §5.3 file name: submitter!policy-domain!begin!end.json.gz (Unix seconds).
std::string report_filename(const ReportMail& m);

}  // namespace chainmail::tlsrpt
