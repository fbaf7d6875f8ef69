// sts_store: the MTA-STS policy cache on disk, one file per domain under
// SPOOL/mta-sts/, so that a restart keeps policies (RFC 8461 §5.1). Writes are
// durable (temp, fsync, rename, fsync dir); a damaged file reads as no policy.
#pragma once

#include <optional>
#include <string>
#include <system_error>

#include "policy/mta_sts.hpp"

namespace chainmail::mtasts {

class StsStore {
  public:
    // `dir` is created (0700) on the first write.
    explicit StsStore(std::string dir) : dir_(std::move(dir)) {}

    // The cached policy of `domain`; nullopt when none or unreadable.
    std::optional<policy::StsCached> load(const std::string& domain) const;
    // `body`: the policy text as fetched, kept verbatim beside its id and times.
    std::error_code save(const std::string& domain, const policy::StsCached& entry,
                         const std::string& body) const;
    std::error_code drop(const std::string& domain) const;

    const std::string& dir() const { return dir_; }

  private:
    std::string path(const std::string& domain) const;
    std::string dir_;
};

// The file's text and back; pure, for tests.
std::string encode_entry(const policy::StsCached& entry, const std::string& body);
std::optional<policy::StsCached> decode_entry(const std::string& text);

}  // namespace chainmail::mtasts
