// ndr_text: the human-readable part of a report. All configured languages go
// into one text/plain part, in config order, each a full text with its own
// "for your IT department" section, separated by a rule line.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "relay/bounce/ndr_reason.hpp"
#include "relay/bounce/ndr_template.hpp"

namespace chainmail::bounce {

struct TextRecipient {
    std::string_view template_name;  // from template_for()
    Placeholders values;             // recipient, partner, host, ... (ndr_template.hpp)
};

// The text, LF line ends. `common` holds the per-message placeholders
// (hostname, subject, arrival, ...); a recipient's values override them.
std::string compose_text(const NdrTemplates& templates, std::span<const std::string> languages,
                         ReportKind kind, const Placeholders& common,
                         std::span<const TextRecipient> recipients);

// The subject words: the first language's, then " / " and the English ones
// when the first language is not English ("Niet afgeleverd / Undelivered").
std::string subject_words(const NdrTemplates& templates, std::span<const std::string> languages,
                          ReportKind kind);

}  // namespace chainmail::bounce
