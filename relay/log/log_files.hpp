// log_files: the delivery log and its rotated files, oldest first, as
// logrotate leaves them: NAME-DATE[.gz] (dateext) by date, then NAME.N[.gz]
// from the highest N down, then NAME itself. Compression is told by content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chainmail::log {

// Orders the entries of one directory that belong to `base` (a file name,
// no directory); entries that are not `base` or a rotation of it are left out.
std::vector<std::string> order_rotated(std::string_view base, std::vector<std::string> entries);

// `path` and its rotated siblings in its directory, oldest first, as paths.
// A missing directory gives just `path` (the reader reports it missing).
std::vector<std::string> rotated_set(const std::string& path);

}  // namespace chainmail::log
