// RFC 8461 §3.1 and §3.2 as tables: each way a TXT record or a policy file
// can be invalid means no policy; what is valid is read exactly.
#include <catch2/catch.hpp>

#include "policy/mta_sts.hpp"

using namespace chainmail::policy;
using StsMode = MtaStsFacts::Mode;

namespace {

struct TxtRow {
    const char* what;
    std::vector<std::string> records;
    const char* id;  // nullptr: no policy
};

const TxtRow kTxt[] = {
    {"one record", {"v=STSv1; id=20260101T000000;"}, "20260101T000000"},
    {"no trailing delimiter", {"v=STSv1; id=abc123"}, "abc123"},
    {"spaces around delimiters", {"v=STSv1 ;id=abc ; "}, "abc"},
    {"an unknown field is ignored", {"v=STSv1; id=abc; ext-1=x.y"}, "abc"},
    {"other TXT records are discarded", {"v=spf1 -all", "v=STSv1; id=abc;"}, "abc"},
    {"32-character id",
     {"v=STSv1; id=0123456789abcdef0123456789ABCDEF"},
     "0123456789abcdef0123456789ABCDEF"},
    {"no record at all", {}, nullptr},
    {"no STS record", {"v=spf1 -all"}, nullptr},
    {"two STS records", {"v=STSv1; id=a;", "v=STSv1; id=b;"}, nullptr},
    {"no id", {"v=STSv1;"}, nullptr},
    {"version only", {"v=STSv1"}, nullptr},
    {"empty id", {"v=STSv1; id=;"}, nullptr},
    {"id with a dash", {"v=STSv1; id=2026-01-01;"}, nullptr},
    {"33-character id", {"v=STSv1; id=0123456789abcdef0123456789ABCDEFx"}, nullptr},
    {"two ids", {"v=STSv1; id=a; id=b"}, nullptr},
    {"wrong version", {"v=STSv2; id=abc"}, nullptr},
    {"version not first", {"id=abc; v=STSv1"}, nullptr},
    {"lower-case version", {"v=stsv1; id=abc"}, nullptr},
    {"field without '='", {"v=STSv1; id=abc; junk"}, nullptr},
    {"text after the version", {"v=STSv1 id=abc"}, nullptr},
    {"extension with a space", {"v=STSv1; id=abc; x=a b"}, nullptr},
};

struct PolicyRow {
    const char* what;
    const char* body;
    bool valid;
    StsMode mode;
    std::vector<std::string> mx;
    std::int64_t max_age;
};

constexpr auto E = StsMode::Enforce;
constexpr auto T = StsMode::Testing;
constexpr auto N = StsMode::None;

const PolicyRow kPolicies[] = {
    {"CRLF",
     "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.nl\r\nmax_age: 86400\r\n",
     true,
     E,
     {"mx1.example.nl"},
     86400},
    {"LF, no final newline",
     "version: STSv1\nmode: testing\nmx: *.example.nl\nmax_age: 604800",
     true,
     T,
     {"*.example.nl"},
     604800},
    {"fields in any order, several mx, case folded",
     "mx: MX1.Example.NL\nmax_age: 1\nmode: enforce\nversion: STSv1\nmx: *.mail.example.nl\n",
     true,
     E,
     {"mx1.example.nl", "*.mail.example.nl"},
     1},
    {"unknown field ignored",
     "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 5\nfoo: bar baz\n",
     true,
     E,
     {"a.nl"},
     5},
    {"spaces after the colon and at the end",
     "version:STSv1\nmode:   enforce  \nmx: a.nl\t\nmax_age: 5\n",
     true,
     E,
     {"a.nl"},
     5},
    {"mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 86400\n", true, N, {}, 86400},
    {"max_age at the limit",
     "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 31557600\n",
     true,
     E,
     {"a.nl"},
     31557600},
    {"max_age zero", "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 0\n", true, E, {"a.nl"}, 0},
    // Each way a policy is invalid: no policy at all.
    {"empty body", "", false, N, {}, 0},
    {"HTML error page", "<html><body>Not here</body></html>\n", false, N, {}, 0},
    {"version missing", "mode: enforce\nmx: a.nl\nmax_age: 5\n", false, N, {}, 0},
    {"version STSv2", "version: STSv2\nmode: enforce\nmx: a.nl\nmax_age: 5\n", false, N, {}, 0},
    {"version twice",
     "version: STSv1\nversion: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"mode missing", "version: STSv1\nmx: a.nl\nmax_age: 5\n", false, N, {}, 0},
    {"mode unknown", "version: STSv1\nmode: report\nmx: a.nl\nmax_age: 5\n", false, N, {}, 0},
    {"mode upper case", "version: STSv1\nmode: ENFORCE\nmx: a.nl\nmax_age: 5\n", false, N, {}, 0},
    {"mode twice",
     "version: STSv1\nmode: enforce\nmode: testing\nmx: a.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"max_age missing", "version: STSv1\nmode: enforce\nmx: a.nl\n", false, N, {}, 0},
    {"max_age above a year",
     "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 31557601\n",
     false,
     N,
     {},
     0},
    {"max_age eleven digits",
     "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 00000000001\n",
     false,
     N,
     {},
     0},
    {"max_age negative", "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: -1\n", false, N, {}, 0},
    {"max_age with a unit",
     "version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: 1d\n",
     false,
     N,
     {},
     0},
    {"no mx in enforce", "version: STSv1\nmode: enforce\nmax_age: 5\n", false, N, {}, 0},
    {"no mx in testing", "version: STSv1\nmode: testing\nmax_age: 5\n", false, N, {}, 0},
    {"mx empty", "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n", false, N, {}, 0},
    {"mx two in one line",
     "version: STSv1\nmode: enforce\nmx: a.nl b.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"mx wildcard in the middle",
     "version: STSv1\nmode: enforce\nmx: mx.*.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"mx bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n", false, N, {}, 0},
    {"mx with a trailing dot",
     "version: STSv1\nmode: enforce\nmx: a.nl.\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"line without a colon",
     "version: STSv1\nmode: enforce\nmx a.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
    {"space before the colon",
     "version : STSv1\nmode: enforce\nmx: a.nl\nmax_age: 5\n",
     false,
     N,
     {},
     0},
};

}  // namespace

TEST_CASE("the _mta-sts TXT record (RFC 8461 section 3.1)") {
    for (const TxtRow& row : kTxt) {
        INFO(row.what);
        const StsRecord r = parse_sts_record(row.records);
        if (row.id) {
            REQUIRE(r.id);
            CHECK(*r.id == row.id);
        } else {
            CHECK_FALSE(r.id);
            CHECK_FALSE(r.error.empty());
        }
    }
}

TEST_CASE("the policy file (RFC 8461 section 3.2)") {
    for (const PolicyRow& row : kPolicies) {
        INFO(row.what);
        const StsParse p = parse_sts_policy(row.body);
        CHECK(p.policy.has_value() == row.valid);
        if (!row.valid) {
            CHECK_FALSE(p.error.empty());
            continue;
        }
        REQUIRE(p.policy);
        CHECK(to_string(p.policy->mode) == to_string(row.mode));
        CHECK(p.policy->mx == row.mx);
        CHECK(p.policy->max_age == row.max_age);
    }
}

TEST_CASE("the error names the line at fault") {
    const StsParse p = parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.nl\nmax_age: x\n");
    CHECK(p.error == "line 4: max_age is not a number of seconds");
}
