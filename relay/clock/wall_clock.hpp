// wall_clock: the relay's one reading of the wall clock. Only the edges call
// it (serve's wiring, the outbound loop, the inbound session's arrival stamp,
// the CLI); the spool, the scheduler, settlement and policy get the time from
// their caller. Timeouts use std::chrono::steady_clock, which is not this.
#pragma once

#include <chrono>
#include <cstdint>

namespace chainmail::clock {

std::chrono::system_clock::time_point now();
// now() as unix milliseconds, the unit the spool and the log keep.
std::int64_t now_ms();

}  // namespace chainmail::clock
