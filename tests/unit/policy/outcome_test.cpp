// Reason names: every Reason has its own name in the delivery log, and that
// name reads back as the same Reason (the log and the report parse it).
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "policy/outcome.hpp"

using namespace chainmail::policy;

TEST_CASE("every reason's name reads back as that reason") {
    std::set<std::string> names;
    for (int i = 0; i < kReasons; ++i) {
        const auto r = static_cast<Reason>(i);
        const std::string_view name = to_string(r);
        INFO(i << " " << name);
        CHECK(name != "?");
        CHECK(names.insert(std::string(name)).second);  // no two reasons share a name
        CHECK(parse_reason(name) == r);
    }
    // A Reason added after Cancelled gets a name (the switch has no default),
    // and is found here: kReasons must count it.
    CHECK(to_string(static_cast<Reason>(kReasons)) == "?");
}

TEST_CASE("text that is no reason's name is no reason") {
    CHECK(parse_reason("tlsa-mismatch") == Reason::TlsaMismatch);
    CHECK_FALSE(parse_reason(""));
    CHECK_FALSE(parse_reason("?"));
    CHECK_FALSE(parse_reason("TLSA-mismatch"));  // the log writes names in lower case
    CHECK_FALSE(parse_reason("tlsa-mismatch "));
    CHECK_FALSE(parse_reason("5.7.5"));
}
