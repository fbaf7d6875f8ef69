// partner: the one behaviour of the rule data: how a next hop is written.
#include "policy/partner.hpp"

namespace chainmail::policy {

std::string NextHop::str() const {
    if (!mx_lookup) return "[" + host + "]:" + std::to_string(port);
    return port == 25 ? host : host + ":" + std::to_string(port);
}

}  // namespace chainmail::policy
