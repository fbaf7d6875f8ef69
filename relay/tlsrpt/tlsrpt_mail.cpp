#include "relay/tlsrpt/tlsrpt_mail.hpp"

#include <zlib.h>
#include <cctype>
#include <stdexcept>

#include "policy/smtp_codec.hpp"
#include "relay/bounce/mime_encode.hpp"

namespace chainmail::tlsrpt {

namespace {

// RFC 2045 §6.8: base64 in lines of 76 characters.
std::string base64_lines(std::string_view data) {
    const std::string b64 = policy::base64_encode(data);
    std::string out;
    for (std::size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
    return out;
}

// Message-ID and boundary characters only (RFC 5322 dot-atom-text, RFC 2046 bchars).
std::string token(std::string_view s) {
    std::string out;
    for (char c : s)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '.';
    return out;
}

}  // namespace

std::string gzip(std::string_view data) {
    z_stream zs{};
    // 15 + 16: a gzip header and trailer rather than zlib's (RFC 1952).
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&zs, data.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    const std::size_t n = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
    out.resize(n);
    return out;
}

std::string report_filename(const ReportMail& m) {
    return m.submitter + "!" + m.domain + "!" + std::to_string(m.start_s) + "!" +
           std::to_string(m.end_s) + ".json.gz";
}

std::string build_report_mail(const ReportMail& m, std::string& message_id) {
    message_id = "<tlsrpt." + std::to_string(m.start_s) + "." + token(m.domain) + "." +
                 std::to_string(m.now_ms) + "@" + token(m.submitter) + ">";
    const std::string boundary = "=_tlsrpt_" + std::to_string(m.now_ms) + "_" + token(m.domain);
    std::string out;
    out += bounce::header_line(
        "From", (m.from_name.empty() ? std::string() : bounce::encode_words(m.from_name) + " ") +
                    "<" + m.from + ">");
    out += bounce::header_line("To", "<" + m.to + ">");
    out += bounce::header_line("Date", bounce::rfc5322_date(m.now_ms));
    out += bounce::header_line("Message-ID", message_id);
    // RFC 8460 §5.3: the subject names domain, submitter and report id.
    out +=
        bounce::header_line("Subject", "Report Domain: " + m.domain + " Submitter: " + m.submitter +
                                           " Report-ID: <" + m.report_id + ">");
    out += bounce::header_line("TLS-Report-Domain", m.domain);
    out += bounce::header_line("TLS-Report-Submitter", m.submitter);
    out += "MIME-Version: 1.0\r\n";
    out += bounce::header_line(
        "Content-Type", "multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"");
    out += "Auto-Submitted: auto-generated\r\n";
    out += "\r\nThis is a multipart message in MIME format.\r\n\r\n";
    out += "--" + boundary + "\r\n";
    out += "Content-Type: text/plain; charset=\"us-ascii\"\r\n";
    out += "Content-Transfer-Encoding: 7bit\r\n\r\n";
    out += "This is an aggregate TLS report (RFC 8460) from " + m.submitter + " for " + m.domain +
           ",\r\ncovering " + std::to_string(m.start_s) + " to " + std::to_string(m.end_s) +
           " (Unix time). The report is attached as gzip-compressed JSON.\r\n\r\n";
    out += "--" + boundary + "\r\n";
    out += "Content-Type: application/tlsrpt+gzip\r\n";
    out += "Content-Transfer-Encoding: base64\r\n";
    out += bounce::header_line("Content-Disposition",
                               "attachment; filename=\"" + report_filename(m) + "\"");
    out += "\r\n";
    out += base64_lines(m.gzipped);
    out += "\r\n--" + boundary + "--\r\n";
    return out;
}

}  // namespace chainmail::tlsrpt
