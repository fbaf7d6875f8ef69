// durable_file: small files under the spool (MTA-STS cache, TLSRPT counts)
// replaced whole so that a crash leaves the old or the new text, never a mix:
// temp file, fsync, rename, fsync the directory. Errors are values.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace chainmail::spool {

// Replaces dir/name with `text`. `dir` is created (0700) when missing; the
// temp file is dir/.name.tmp (0600) and is removed again when a step fails.
std::error_code write_durably(const std::string& dir, const std::string& name,
                              std::string_view text);

// Removes dir/name and syncs the directory; a name that is not there is no error.
std::error_code remove_durably(const std::string& dir, const std::string& name);

}  // namespace chainmail::spool
