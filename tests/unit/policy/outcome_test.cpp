#include <catch2/catch.hpp>

#include "policy/outcome.hpp"

using namespace chainmail::policy;

TEST_CASE("after a TLS failure: every host first, then on_tls_failure") {
    struct Row {
        Verdict verdict;
        OnTlsFailure on;
        bool hosts_left;
        Disposition expected;
    };
    const Row rows[] = {
        {Verdict::TlsFailure, OnTlsFailure::Bounce, true, Disposition::NextHost},
        {Verdict::TlsFailure, OnTlsFailure::Bounce, false, Disposition::Bounce},
        {Verdict::TlsFailure, OnTlsFailure::Defer, false, Disposition::Defer},
        {Verdict::TlsFailure, OnTlsFailure::Hold, false, Disposition::Hold},
        {Verdict::TlsFailure, OnTlsFailure::Reroute, false, Disposition::Reroute},
        {Verdict::TlsFailure, OnTlsFailure::Reroute, true, Disposition::NextHost},
        // DNS failures and unknown errors defer, whatever on_tls_failure says.
        {Verdict::TempFail, OnTlsFailure::Bounce, true, Disposition::NextHost},
        {Verdict::TempFail, OnTlsFailure::Bounce, false, Disposition::Defer},
        {Verdict::TempFail, OnTlsFailure::Reroute, false, Disposition::Defer},
        {Verdict::PermFail, OnTlsFailure::Defer, true, Disposition::Bounce},
    };
    for (const Row& r : rows) {
        INFO(to_string(r.verdict) << " " << to_string(r.on) << " hosts left " << r.hosts_left);
        CHECK(dispose(r.verdict, r.on, r.hosts_left) == r.expected);
    }
}
