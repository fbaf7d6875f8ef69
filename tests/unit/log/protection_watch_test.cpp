// The live regression watch flags a partner's domain once, on the day its
// protection first went below what held before (the report's rule).
#include <catch2/catch.hpp>

#include "relay/log/log_time.hpp"
#include "relay/log/protection_watch.hpp"

using namespace chainmail::log;

namespace {

DeliveryEvent ev(const char* day, const char* auth, Event event = Event::Delivered,
                 const char* reason = "") {
    DeliveryEvent e;
    e.event = event;
    e.ts_ms = *parse_ts(std::string(day) + "T12:00:00Z");
    e.rcpt = "a@Zorg.NL";
    e.partner = "zorg";
    if (*auth) e.tls = TlsInfo{"TLSv1.3", "x", auth};
    e.reason = reason;
    return e;
}

}  // namespace

TEST_CASE("DANE for days, then only encrypted: one flag, on that day") {
    ProtectionWatch w;
    CHECK_FALSE(w.observe(ev("2026-11-01", "dane-ee")));
    CHECK_FALSE(w.observe(ev("2026-11-02", "dane-ta")));
    const auto flag = w.observe(ev("2026-11-03", "none"));
    REQUIRE(flag);
    CHECK(flag->partner == "zorg");
    CHECK(flag->domain == "zorg.nl");
    CHECK(day_string(flag->regression.day) == "2026-11-03");
    CHECK_FALSE(w.observe(ev("2026-11-03", "none")));  // once per day
    CHECK_FALSE(w.observe(ev("2026-11-04", "none")));  // encrypted is what holds now
    CHECK(w.observe(ev("2026-11-05", "", Event::Deferred, "tlsa-mismatch")));
    CHECK_FALSE(w.observe(ev("2026-11-05", "", Event::Deferred, "connect-failed")));
}
