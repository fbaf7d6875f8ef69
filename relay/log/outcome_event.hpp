// outcome_event: the log's words for one recipient's outcome (the failure
// table's policy::RcptOutcome): the delivery log's event and the operator
// line's status= word. The one mapping; settlement and the queue actions use it.
#pragma once

#include <string_view>

#include "policy/failure_table.hpp"
#include "relay/log/delivery_log.hpp"

namespace chainmail::log {

// The delivery log's event (docs/delivery-log.md) for a recipient's outcome.
// `ndr`: the message is one of our reports, whose delivery is ndr_sent. The
// other events (received, deleted) belong to a message or an operator.
Event event_of(policy::RcptOutcome o, bool ndr);

// Postfix's status= word for a recipient outcome ("sent" for delivered),
// plus held (on_tls_failure: hold) and expired.
std::string_view status_name(policy::RcptOutcome o);

}  // namespace chainmail::log
