#include "relay/resolve/dns_rdata.hpp"

#include <algorithm>
#include <cstdio>

namespace chainmail::resolve {

std::optional<std::string> parse_wire_name(std::span<const std::uint8_t> data, std::size_t& pos) {
    std::string out;
    std::size_t wire_len = 0;
    for (;;) {
        if (pos >= data.size()) return std::nullopt;
        const std::uint8_t len = data[pos++];
        if (len == 0) break;
        // 0xC0: a compression pointer; 0x40 and 0x80: obsolete label types.
        if (len > 63) return std::nullopt;
        if (data.size() - pos < len) return std::nullopt;
        wire_len += len + 1;
        if (wire_len > 254) return std::nullopt;  // RFC 1035 §2.3.4: 255 octets in all
        if (!out.empty()) out += '.';
        for (std::size_t i = 0; i < len; ++i) {
            const unsigned char c = data[pos + i];
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                out += static_cast<char>(c);
            } else if (c >= 'A' && c <= 'Z') {
                out += static_cast<char>(c - 'A' + 'a');
            } else {
                char esc[5];
                std::snprintf(esc, sizeof esc, "\\%03u", static_cast<unsigned>(c));
                out += esc;
            }
        }
        pos += len;
    }
    return out;
}

std::optional<MxHost> parse_mx(std::span<const std::uint8_t> rdata) {
    if (rdata.size() < 3) return std::nullopt;
    MxHost mx;
    mx.preference = static_cast<std::uint16_t>((rdata[0] << 8) | rdata[1]);
    std::size_t pos = 2;
    auto name = parse_wire_name(rdata, pos);
    if (!name || pos != rdata.size()) return std::nullopt;
    mx.host = std::move(*name);
    return mx;
}

std::optional<std::string> parse_txt(std::span<const std::uint8_t> rdata) {
    std::string out;
    std::size_t pos = 0;
    while (pos < rdata.size()) {
        const std::size_t n = rdata[pos++];
        if (n > rdata.size() - pos) return std::nullopt;
        out.append(reinterpret_cast<const char*>(rdata.data() + pos), n);
        pos += n;
    }
    return out;
}

std::optional<TlsaRecord> parse_tlsa(std::span<const std::uint8_t> rdata) {
    // RFC 6698 §2.1: three one-octet fields, then at least one octet of data.
    if (rdata.size() < 4) return std::nullopt;
    TlsaRecord r;
    r.usage = rdata[0];
    r.selector = rdata[1];
    r.mtype = rdata[2];
    r.data.assign(rdata.begin() + 3, rdata.end());
    return r;
}

std::string normalize_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string out(name);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

void order_mx(std::vector<MxHost>& hosts, const RandomSource& random) {
    // Sorted by name within a preference first, so that the order depends on
    // the random source only, not on the order the records arrived in.
    std::sort(hosts.begin(), hosts.end(), [](const MxHost& a, const MxHost& b) {
        return a.preference != b.preference ? a.preference < b.preference : a.host < b.host;
    });
    // Fisher-Yates within each run of equal preference.
    auto run = hosts.begin();
    while (run != hosts.end()) {
        auto end = std::find_if(run, hosts.end(),
                                [&](const MxHost& h) { return h.preference != run->preference; });
        for (auto n = static_cast<std::uint64_t>(end - run); n > 1; --n) {
            const auto j = random() % n;
            std::swap(run[static_cast<std::ptrdiff_t>(n - 1)], run[static_cast<std::ptrdiff_t>(j)]);
        }
        run = end;
    }
}

bool is_null_mx(const std::vector<MxHost>& hosts) {
    return hosts.size() == 1 && hosts[0].preference == 0 && hosts[0].host.empty();
}

}  // namespace chainmail::resolve
