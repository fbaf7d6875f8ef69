// Fuzzes the MTA-STS parsers (policy/mta_sts): the `_mta-sts` TXT record and
// the policy file, as a DNS server or a web server could hand them over.
// Properties: whatever is accepted obeys RFC 8461 §3.1 and §3.2 (an id of 1
// to 32 letters and digits; max_age at most 31557600; mx present unless the
// mode is none, lower case, a wildcard only as the whole first label).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "policy/mta_sts.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    // The whole input as a policy file.
    const StsParse p = parse_sts_policy(text);
    FUZZ_CHECK(p.policy.has_value() == p.error.empty());
    if (p.policy) {
        FUZZ_CHECK(p.policy->max_age >= 0 && p.policy->max_age <= kStsMaxAge);
        FUZZ_CHECK(p.policy->mode == MtaStsFacts::Mode::None || !p.policy->mx.empty());
        for (const std::string& mx : p.policy->mx) {
            FUZZ_CHECK(!mx.empty());
            for (std::size_t i = 0; i < mx.size(); ++i) {
                const char c = mx[i];
                FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
                if (c == '*') FUZZ_CHECK(i == 0 && mx.size() > 2 && mx[1] == '.');
            }
        }
    }

    // The input as TXT records, one per line.
    std::vector<std::string> records;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t nl = text.find('\n', start);
        records.push_back(text.substr(start, nl == std::string::npos ? nl : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    const StsRecord r = parse_sts_record(records);
    FUZZ_CHECK(r.id.has_value() == r.error.empty());
    if (r.id) {
        FUZZ_CHECK(!r.id->empty() && r.id->size() <= 32);
        for (char c : *r.id) FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)));
    }
    return 0;
}
