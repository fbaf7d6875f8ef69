// control_protocol: JSON lines for the control socket.
#include "relay/control/control_protocol.hpp"

#include <nlohmann/json.hpp>

namespace chainmail::control {

using nlohmann::json;

std::string encode(const Request& r) {
    return json{{"command", outbound::to_string(r.action)}, {"ids", r.ids}, {"all", r.all}}.dump();
}

std::string encode(const Reply& r) {
    if (!r.error.empty()) return json{{"error", r.error}}.dump();
    json results = json::array();
    for (const outbound::ActionResult& a : r.results)
        results.push_back(
            {{"id", a.id}, {"status", outbound::to_string(a.status)}, {"text", a.text}});
    return json{{"results", results}}.dump();
}

std::variant<Request, std::string> decode_request(std::string_view line) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::string("not a JSON object");
    Request r;
    auto cmd = j.find("command");
    if (cmd == j.end() || !cmd->is_string()) return std::string("no \"command\"");
    auto action = outbound::parse_queue_action(cmd->get<std::string>());
    if (!action) return "unknown command \"" + cmd->get<std::string>() + "\"";
    r.action = *action;
    if (auto ids = j.find("ids"); ids != j.end()) {
        if (!ids->is_array()) return std::string("\"ids\" is not a list");
        for (const json& id : *ids) {
            if (!id.is_string()) return std::string("a queue id is not a string");
            r.ids.push_back(id.get<std::string>());
        }
    }
    if (auto all = j.find("all"); all != j.end()) {
        if (!all->is_boolean()) return std::string("\"all\" is not true or false");
        r.all = all->get<bool>();
    }
    if (r.all && r.action != outbound::QueueAction::Retry)
        return std::string("\"all\" is only for retry");
    if (!r.all && r.ids.empty()) return std::string("no queue ids");
    return r;
}

std::optional<Reply> decode_reply(std::string_view line) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Reply r;
    if (auto e = j.find("error"); e != j.end()) {
        if (!e->is_string()) return std::nullopt;
        r.error = e->get<std::string>();
        if (r.error.empty()) r.error = "refused";
        return r;
    }
    auto results = j.find("results");
    if (results == j.end() || !results->is_array()) return std::nullopt;
    for (const json& x : *results) {
        if (!x.is_object() || !x.contains("id") || !x["id"].is_string() || !x.contains("status") ||
            !x["status"].is_string() || !x.contains("text") || !x["text"].is_string())
            return std::nullopt;
        outbound::ActionResult a;
        a.id = x["id"].get<std::string>();
        a.text = x["text"].get<std::string>();
        const std::string s = x["status"].get<std::string>();
        bool known = false;
        for (auto st : {outbound::ActionStatus::Done, outbound::ActionStatus::Unchanged,
                        outbound::ActionStatus::NotFound, outbound::ActionStatus::Failed})
            if (outbound::to_string(st) == s) {
                a.status = st;
                known = true;
            }
        if (!known) return std::nullopt;
        r.results.push_back(std::move(a));
    }
    return r;
}

}  // namespace chainmail::control
