// Fuzzes the YAML configuration loader (config/): any text an operator might
// save as chainmail.yaml. Properties: no crash, and the file is either a
// configuration or refused with at least one error, each with FILE:LINE:COL
// (line and column from 1).
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "config/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    LoadOptions options;
    options.check_files = false;  // the fuzzer must not depend on this machine's files
    const LoadResult r = load_config_text(text, "fuzz.yaml", options);
    if (const auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
        FUZZ_CHECK(!errors->empty());
        for (const ConfigError& e : *errors) {
            FUZZ_CHECK(e.where.file == "fuzz.yaml" && e.where.line >= 1 && e.where.col >= 1);
            FUZZ_CHECK(!e.message.empty());
            FUZZ_CHECK(e.str().starts_with("fuzz.yaml:"));
        }
    }
    return 0;
}
