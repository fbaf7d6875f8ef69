// The regression counter: what serve's ProtectionWatch observer reports.
#include <catch2/catch.hpp>

#include "relay/metrics/metrics.hpp"

using namespace chainmail::metrics;

TEST_CASE("a protection regression counts per partner and the weaker protection") {
    protection_regression("ggd-regio", "encrypted");
    protection_regression("ggd-regio", "encrypted");
    protection_regression("", "failing");  // the defaults rule
    const std::string text = registry().render();
    CHECK(text.find("# TYPE chainmail_protection_regressions counter\n") != std::string::npos);
    CHECK(text.find("chainmail_protection_regressions_total{partner=\"ggd-regio\",now="
                    "\"encrypted\"} 2\n") != std::string::npos);
    CHECK(text.find("chainmail_protection_regressions_total{partner=\"defaults\",now="
                    "\"failing\"} 1\n") != std::string::npos);
}
