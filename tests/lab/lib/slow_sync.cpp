// slow_sync: loaded with LD_PRELOAD into `chainmail serve` by lab tests, it
// makes every fdatasync(2) take at least SLOW_SYNC_MS milliseconds longer, as
// on a spinning disk or a busy virtual disk. Nothing else changes.
#include <dlfcn.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>

namespace {

using SyncFn = int (*)(int);

SyncFn real_fdatasync() {
    static const SyncFn f = reinterpret_cast<SyncFn>(::dlsym(RTLD_NEXT, "fdatasync"));
    return f;
}

long delay_ms() {
    static const long ms = [] {
        const char* v = std::getenv("SLOW_SYNC_MS");
        return v ? std::strtol(v, nullptr, 10) : 20L;
    }();
    return ms;
}

}  // namespace

extern "C" int fdatasync(int fd) {
    const SyncFn f = real_fdatasync();
    if (f == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    const int r = f(fd);
    const int saved = errno;
    // After the real sync, so that the data is on disk when the delay ends,
    // like a slow device; interrupted sleeps continue.
    timespec left{delay_ms() / 1000, (delay_ms() % 1000) * 1000000L};
    while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    errno = saved;
    return r;
}
