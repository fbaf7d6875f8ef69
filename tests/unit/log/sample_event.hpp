// One delivered event with every field of docs/delivery-log.md set, shared by
// the log tests: each test changes only the fields it is about.
#pragma once

#include "relay/log/delivery_log.hpp"

namespace chainmail::log::test {

inline DeliveryEvent sample_delivered() {
    DeliveryEvent e;
    e.event = Event::Delivered;
    e.ts_ms = 1795348800123;  // 2026-11-22T12:00:00.123Z
    e.queue_id = "01JD";
    e.message_id = "<m@x>";
    e.from = "a@gemeente.nl";
    e.rcpt = "b@ziekenhuis-west.nl";
    e.partner = "ziekenhuis-west";
    e.policy = "dane-only";
    e.host = "mx.ziekenhuis-west.nl";
    e.ip = "192.0.2.1";
    e.port = 25;
    e.tls = TlsInfo{"TLSv1.3", "TLS_AES_256_GCM_SHA384", "dane-ee"};
    e.dsn = "2.0.0";
    e.reply = "250 2.0.0 Ok: queued";
    e.attempt = 1;
    e.delay_s = 0.41;
    return e;
}

}  // namespace chainmail::log::test
