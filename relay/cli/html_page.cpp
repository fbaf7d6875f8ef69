#include "relay/cli/html_page.hpp"

namespace chainmail::cli {

namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2937;margin:24px auto;max-width:1400px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;margin:0 0 12px}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:8px 14px;min-width:130px}.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{padding:4px 6px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th{background:#f3f4f6;position:sticky;top:0}td.l,th.l{text-align:left}tr.p td{font-weight:600;background:#fafafa}tr.d td.l{padding-left:20px}
.z{color:#c0c4cc}.bad{color:#b91c1c;font-weight:600}ul.adv{padding-left:0;list-style:none}ul.adv li{margin:4px 0;padding:4px 8px;border-left:5px solid #9ca3af}
li.act{border-color:#b91c1c!important;background:#fef2f2}li.warn{border-color:#d97706!important;background:#fffbeb}li.good{border-color:#15803d!important;background:#f0fdf4}
.tag{font-size:11px;text-transform:uppercase;font-weight:700;margin-right:6px}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}
figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:8px;break-inside:avoid}figcaption{font-size:13px;margin-bottom:4px}
.none{color:#15803d}
@media print{body{margin:0;max-width:none;font-size:11px}th{position:static}h2{break-after:avoid}table{font-size:9.5px}.charts{grid-template-columns:1fr 1fr}@page{size:A4 landscape;margin:12mm}}
)";

}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    return out;
}

std::string html_open(std::string_view title) {
    std::string out =
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'><title>";
    out += html_escape(title);
    out += "</title><style>";
    out += kStyle;
    out += "</style></head><body>\n";
    return out;
}

}  // namespace chainmail::cli
