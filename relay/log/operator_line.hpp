// operator_line: the operator's log line (stderr, so the journal) for one
// delivery attempt of one recipient, in Postfix's smtp(8) key=value habit so
// that `grep QUEUEID` and Postfix log tools find it. Pure formatting.
#pragma once

#include <string>
#include <string_view>

#include "policy/failure_table.hpp"
#include "relay/log/delivery_log.hpp"
#include "relay/log/outcome_event.hpp"

namespace chainmail::log {

// "QUEUEID: to=<b@x.nl>, partner=p, relay=mx.x.nl[192.0.2.1]:25, delay=0.41,
//  tls=dane-only:dane-ee, dsn=2.0.0, status=sent (250 2.0.0 Ok)".
// tls= follows Postfix 3.11: the required level, then after ':' what the
// attempt reached: the delivery log's tls.auth, "encrypt" for TLS without
// authentication, "none" for an SMTP session in the clear, or for a TLS
// failure the reason's name; nothing after the level when no SMTP session
// was reached (`reason` says why). A bounce or expiry names its report:
// ndr=QUEUEID. Control characters in peer text become spaces: one line.
std::string operator_line(const DeliveryEvent& e, policy::RcptOutcome outcome,
                          policy::Reason reason);

// Postfix's delay= form: two significant digits below 10 s, whole seconds above.
std::string postfix_delay(double seconds);

}  // namespace chainmail::log
