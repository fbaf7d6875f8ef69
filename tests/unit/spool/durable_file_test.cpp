// The durable small-file write: it writes, it replaces the old text whole
// and leaves no temp file, and it reports (never hides) a directory it
// cannot write to.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "relay/spool/durable_file.hpp"
#include "spool_test_util.hpp"

namespace fs = std::filesystem;
using chainmail::spool::remove_durably;
using chainmail::spool::write_durably;

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int entries(const std::string& dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a durable write creates its directory and the file, owner-only") {
    spool_test::TempDir t;
    const std::string dir = t.sub("tlsrpt");
    REQUIRE_FALSE(write_durably(dir, "counts.json", "{\"periods\":[]}\n"));
    CHECK(read(dir + "/counts.json") == "{\"periods\":[]}\n");
    CHECK(entries(dir) == 1);  // no temp file left behind
    CHECK((fs::status(dir).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK((fs::status(dir + "/counts.json").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("a durable write replaces the old text whole, also with a shorter or empty one") {
    spool_test::TempDir t;
    const std::string dir = t.path();
    const std::string big(100'000, 'x');
    REQUIRE_FALSE(write_durably(dir, "example.nl", big));
    CHECK(read(dir + "/example.nl") == big);
    REQUIRE_FALSE(write_durably(dir, "example.nl", "short"));
    CHECK(read(dir + "/example.nl") == "short");
    REQUIRE_FALSE(write_durably(dir, "example.nl", ""));
    CHECK(read(dir + "/example.nl").empty());
    CHECK(entries(dir) == 1);
}

TEST_CASE("a stale temp file from a crash is overwritten, never read as the file") {
    spool_test::TempDir t;
    const std::string dir = t.path();
    std::ofstream(dir + "/.counts.json.tmp") << "half a file from before the crash, longer";
    REQUIRE_FALSE(write_durably(dir, "counts.json", "new"));
    CHECK(read(dir + "/counts.json") == "new");
    CHECK(entries(dir) == 1);
}

TEST_CASE("a durable write reports a directory it cannot write to") {
    spool_test::TempDir t;
    SECTION("the directory cannot be made: a file is in the way") {
        std::ofstream(t.sub("spool-file")) << "not a directory";
        const std::error_code ec =
            write_durably(t.sub("spool-file") + "/tlsrpt", "counts.json", "x");
        CHECK(ec == std::errc::not_a_directory);
    }
    SECTION("no file can be created in the directory (even by root)") {
        CHECK(write_durably("/proc", "counts.json", "x"));
    }
    SECTION("the name is taken by a directory: the old stays, the temp file goes") {
        fs::create_directories(t.sub("counts.json/keep"));
        CHECK(write_durably(t.path(), "counts.json", "x"));
        CHECK(fs::is_directory(t.sub("counts.json/keep")));
        CHECK(entries(t.path()) == 1);
    }
}

TEST_CASE("a durable remove takes the file away; nothing to remove is no error") {
    spool_test::TempDir t;
    REQUIRE_FALSE(write_durably(t.path(), "example.nl", "policy"));
    CHECK_FALSE(remove_durably(t.path(), "example.nl"));
    CHECK_FALSE(fs::exists(t.sub("example.nl")));
    CHECK_FALSE(remove_durably(t.path(), "example.nl"));
    fs::create_directories(t.sub("a-directory/inside"));
    CHECK(remove_durably(t.path(), "a-directory"));  // unlink(2) refuses: reported
    CHECK(fs::exists(t.sub("a-directory/inside")));
}
