// ndr_template: the report texts, one template per name and language
// ("<name>.<lang>.txt"). The shipped texts are compiled in; a directory
// (config ndr.templates) may override any of them. Placeholders are {name}.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chainmail::bounce {

// Every placeholder a template may use; relay/bounce/templates/README.md
// says what each holds.
inline constexpr std::string_view kPlaceholders[] = {
    "recipient", "partner",  "contact",     "host",     "ip",           "level",
    "reply",     "detail",   "status",      "hostname", "subject",      "arrival",
    "sender",    "lifetime", "retry_until", "queue_id", "service_desk",
};

// The templates besides the per-reason ones (ndr_reason.hpp kReasonTemplates).
inline constexpr std::string_view kFrameTemplates[] = {
    "intro_failed",
    "intro_delayed",
    "intro_held",
    "intro_delivered",
    "subject_failed",
    "subject_delayed",
    "subject_delivered",
    "ict_heading",
    "language_heading",
    "footer",
    "subject_held",
    "held",
    "help",
};

// The separator line in a reason template: above it the words for the
// sender, below it the details for the sender's IT department.
inline constexpr std::string_view kIctMarker = "[ICT]";

struct ShippedTemplate {
    std::string_view file;  // "starttls_not_offered.nl.txt"
    std::string_view text;
};
// The files of relay/bounce/templates/, compiled in (ndr_templates_shipped.cpp,
// written by relay/bounce/templates/embed.py).
std::span<const ShippedTemplate> shipped_templates();

using Placeholders = std::map<std::string, std::string, std::less<>>;

class NdrTemplates {
  public:
    // Only the shipped texts.
    static NdrTemplates shipped();

    // The shipped texts, overridden by each "<name>.<lang>.txt" in `dir`.
    // A file with an unknown name or placeholder, or one that is not UTF-8,
    // is not used and is named in `errors`; other files still apply.
    static NdrTemplates load(const std::string& dir, std::vector<std::string>& errors);

    // The template for `lang`, else the English one, else empty.
    std::string_view get(std::string_view name, std::string_view lang) const;

    // Whether `lang` has its own text for `name` (no English fallback).
    bool has(std::string_view name, std::string_view lang) const;

    // Checks a template's text; returns an error message or "".
    static std::string validate(std::string_view name, std::string_view text);

  private:
    std::map<std::string, std::string, std::less<>> texts_;  // "name.lang" -> text
};

// Fills in the placeholders. A line in which a placeholder is empty or
// unknown is left out, so optional facts stand on lines of their own. Each
// remaining line is one paragraph (or "- " list item), wrapped at 76
// columns; a line starting with a space is kept as written. LF line ends.
std::string expand(std::string_view tmpl, const Placeholders& values);

}  // namespace chainmail::bounce
