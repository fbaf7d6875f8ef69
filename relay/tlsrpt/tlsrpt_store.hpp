// tlsrpt_store: the TLSRPT counts on disk, SPOOL/tlsrpt/counts.json, so that
// a restart mid-day loses no session. Writes are durable (temp, fsync,
// rename, fsync dir); a damaged file is set aside and reads as no counts.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "policy/tlsrpt.hpp"

namespace chainmail::tlsrpt {

class CountsFile {
  public:
    // `dir` (SPOOL/tlsrpt) is created (0700) on the first save.
    explicit CountsFile(std::string dir) : dir_(std::move(dir)) {}

    // The periods not yet reported; empty when there is no file. A file that
    // does not parse is renamed to counts.json.damaged (and logged by the caller).
    std::vector<policy::TlsrptPeriod> load(std::string& problem) const;
    std::error_code save(const std::vector<policy::TlsrptPeriod>& periods) const;

    std::string path() const { return dir_ + "/counts.json"; }

  private:
    std::string dir_;
};

}  // namespace chainmail::tlsrpt
