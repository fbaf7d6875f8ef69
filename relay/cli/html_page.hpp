// html_page: what every self-contained HTML page of chainmail shares (the
// report and the probe's partner map): escaping, the opening with the one
// inline style sheet (laptop and A4 print), nothing fetched.
#pragma once

#include <string>
#include <string_view>

namespace chainmail::cli {

std::string html_escape(std::string_view s);

// "<!DOCTYPE html>...<style>...</style></head><body>\n" with the title escaped.
std::string html_open(std::string_view title);

}  // namespace chainmail::cli
