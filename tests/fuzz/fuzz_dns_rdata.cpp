// Fuzzes the DNS rdata parsers (relay/resolve/dns_rdata): MX and TLSA rdata
// and wire-format names, as a resolver could hand them over. Properties: no
// read past the span (ASan), a name is lower case with every other byte
// escaped as \DDD (RFC 1035 §5.1), and MX ordering keeps every host.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "relay/resolve/dns_rdata.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::resolve;

namespace {

void check_name(const std::string& name) {
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (c == '\\') {
            FUZZ_CHECK(i + 3 < name.size());
            for (std::size_t k = 1; k <= 3; ++k)
                FUZZ_CHECK(name[i + k] >= '0' && name[i + k] <= '9');
            i += 3;
            continue;
        }
        FUZZ_CHECK(plain);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Copied into a buffer of its own so that ASan sees any read past the end.
    const std::vector<std::uint8_t> bytes(data, data + size);
    const std::span<const std::uint8_t> rdata(bytes);

    std::vector<MxHost> hosts;
    for (std::size_t pos = 0; pos < rdata.size();) {
        const std::size_t start = pos;
        auto name = parse_wire_name(rdata, pos);
        FUZZ_CHECK(pos <= rdata.size());
        if (!name) break;
        FUZZ_CHECK(pos > start);
        check_name(*name);
        FUZZ_CHECK(normalize_name(*name) == *name);
    }

    if (auto mx = parse_mx(rdata)) {
        check_name(mx->host);
        hosts.push_back(*mx);
    }
    // Every record of an RRset, as a 1-byte length and then that rdata.
    for (std::size_t pos = 0; pos < rdata.size();) {
        const std::size_t n = std::min<std::size_t>(rdata[pos], rdata.size() - pos - 1);
        auto one = rdata.subspan(pos + 1, n);
        if (auto mx = parse_mx(one)) hosts.push_back(*mx);
        if (auto tlsa = parse_tlsa(one)) FUZZ_CHECK(tlsa->data.size() + 3 == one.size());
        pos += 1 + n;
    }
    auto ordered = hosts;
    std::uint64_t seed = size;
    order_mx(ordered,
             [&] { return seed = seed * 6364136223846793005ull + 1442695040888963407ull; });
    FUZZ_CHECK(ordered.size() == hosts.size());
    for (std::size_t i = 1; i < ordered.size(); ++i)
        FUZZ_CHECK(ordered[i - 1].preference <= ordered[i].preference);
    is_null_mx(ordered);
    return 0;
}
