// control_protocol: the words spoken on the control socket. One request line
// from `chainmail queue`, one reply line from serve, each a JSON object:
//   {"command":"hold","ids":["01J…"],"all":false}
//   {"results":[{"id":"01J…","status":"done","text":"held (1 recipient(s) waiting)"}]}
//   {"error":"permission denied: …"}
// Pure: decoding never throws; a malformed line is an error value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relay/outbound/queue_control.hpp"

namespace chainmail::control {

// A request or reply line longer than this is refused (a million ids would
// fit; a runaway client does not).
inline constexpr std::size_t kMaxLine = 4 << 20;

struct Request {
    outbound::QueueAction action = outbound::QueueAction::Retry;
    std::vector<std::string> ids;
    bool all = false;  // retry --all
};

struct Reply {
    std::vector<outbound::ActionResult> results;
    std::string error;  // the request as a whole was refused
};

std::string encode(const Request& r);  // one line, without its newline
std::string encode(const Reply& r);
// The request, or what is wrong with the line.
std::variant<Request, std::string> decode_request(std::string_view line);
std::optional<Reply> decode_reply(std::string_view line);

}  // namespace chainmail::control
