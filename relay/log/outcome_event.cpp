// outcome_event: the delivery log's and the operator line's word per outcome.
#include "relay/log/outcome_event.hpp"

namespace chainmail::log {

using policy::RcptOutcome;

Event event_of(RcptOutcome o, bool ndr) {
    switch (o) {
        case RcptOutcome::Delivered:
            return ndr ? Event::NdrSent : Event::Delivered;
        case RcptOutcome::Bounced:
            return Event::Bounced;
        case RcptOutcome::Expired:
            return Event::Expired;
        case RcptOutcome::Held:
            return Event::Held;
        case RcptOutcome::Deferred:
        case RcptOutcome::Cancelled:  // nothing was settled: it stays queued
            return Event::Deferred;
    }
    return Event::Deferred;
}

std::string_view status_name(RcptOutcome o) {
    switch (o) {
        case RcptOutcome::Delivered:
            return "sent";
        case RcptOutcome::Deferred:
        case RcptOutcome::Cancelled:  // nothing was settled: it stays queued
            return "deferred";
        case RcptOutcome::Bounced:
            return "bounced";
        case RcptOutcome::Held:
            return "held";
        case RcptOutcome::Expired:
            return "expired";
    }
    return "deferred";
}

}  // namespace chainmail::log
