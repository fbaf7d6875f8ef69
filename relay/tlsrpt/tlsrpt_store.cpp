#include "relay/tlsrpt/tlsrpt_store.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "relay/spool/durable_file.hpp"
#include "relay/tlsrpt/tlsrpt_json.hpp"

namespace chainmail::tlsrpt {

std::vector<policy::TlsrptPeriod> CountsFile::load(std::string& problem) const {
    std::ifstream in(path(), std::ios::binary);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    if (auto periods = decode_periods(text.str())) return std::move(*periods);
    const std::string aside = path() + ".damaged";
    std::rename(path().c_str(), aside.c_str());
    problem = path() + " is damaged; set aside as " + aside;
    return {};
}

std::error_code CountsFile::save(const std::vector<policy::TlsrptPeriod>& periods) const {
    return spool::write_durably(dir_, "counts.json", encode_periods(periods));
}

}  // namespace chainmail::tlsrpt
