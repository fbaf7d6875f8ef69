// The MTA-STS cache on disk: what is saved is loaded back, a damaged file
// is no policy, drop removes it, and the media type check of the fetch.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relay/mtasts/sts_fetch.hpp"
#include "relay/mtasts/sts_store.hpp"

using namespace chainmail;
using policy::MtaStsFacts;

namespace {

const char* kBody = "version: STSv1\r\nmode: enforce\r\nmx: *.example.nl\r\nmax_age: 86400\r\n";

policy::StsCached entry() {
    return {policy::StsPolicy{MtaStsFacts::Mode::Enforce, {"*.example.nl"}, 86400}, "20260101",
            1'800'000'000, 1'800'086'400};
}

struct TempDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("chainmail-sts-" + std::to_string(::getpid()));
    TempDir() { std::filesystem::create_directories(path); }  // the spool
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("a saved policy loads back as it was") {
    TempDir t;
    mtasts::StsStore store((t.path / "mta-sts").string());
    CHECK_FALSE(store.load("example.nl"));
    REQUIRE_FALSE(store.save("example.nl", entry(), kBody));
    const auto back = store.load("example.nl");
    REQUIRE(back);
    CHECK(back->id == "20260101");
    CHECK(back->fetched_s == 1'800'000'000);
    CHECK(back->expires_s == 1'800'086'400);
    CHECK(back->policy == entry().policy);
    // No temp file is left behind.
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(t.path / "mta-sts"))
        ++files;
    CHECK(files == 1);
    REQUIRE_FALSE(store.drop("example.nl"));
    CHECK_FALSE(store.load("example.nl"));
    CHECK_FALSE(store.drop("example.nl"));  // dropping nothing is fine
}

TEST_CASE("a damaged cache file is no policy") {
    const std::string good = mtasts::encode_entry(entry(), kBody);
    CHECK(mtasts::decode_entry(good));
    CHECK_FALSE(mtasts::decode_entry(good.substr(0, good.size() / 2)));  // torn body
    CHECK_FALSE(mtasts::decode_entry("id: x\nfetched: 1\n\n" + std::string(kBody)));
    CHECK_FALSE(mtasts::decode_entry("id: x\nfetched: 1\nexpires: soon\n\n" + std::string(kBody)));
    CHECK_FALSE(mtasts::decode_entry(""));
}

TEST_CASE("domain names only become file names when they are plain DNS names") {
    TempDir t;
    mtasts::StsStore store(t.path.string());
    CHECK(store.save("../escape", entry(), kBody));
    CHECK(store.save(".hidden", entry(), kBody));
    CHECK_FALSE(store.load("../escape"));
}

TEST_CASE("only text/plain is a policy (RFC 8461 section 3.2)") {
    CHECK(mtasts::is_text_plain("text/plain"));
    CHECK(mtasts::is_text_plain("Text/Plain; charset=utf-8"));
    CHECK(mtasts::is_text_plain(" text/plain ;charset=us-ascii"));
    CHECK_FALSE(mtasts::is_text_plain("text/html"));
    CHECK_FALSE(mtasts::is_text_plain("text/plainx"));
    CHECK_FALSE(mtasts::is_text_plain(""));
}
