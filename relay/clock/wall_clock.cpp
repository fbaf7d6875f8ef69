#include "relay/clock/wall_clock.hpp"

namespace chainmail::clock {

std::chrono::system_clock::time_point now() {
    return std::chrono::system_clock::now();
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

}  // namespace chainmail::clock
