// Dot-stuffing of the message body (RFC 5321 §4.5.2).
#include <catch2/catch.hpp>

#include "relay/deliver/smtp_client.hpp"

using namespace chainmail::deliver;

TEST_CASE("dot-stuffing and the end of data", "[reply]") {
    CHECK(dot_stuff(".a\r\nb\r\n..c\r\n") == "..a\r\nb\r\n...c\r\n.\r\n");
    CHECK(dot_stuff("no final newline") == "no final newline\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
    // A period after a bare LF starts a line too; one in the middle stays single.
    CHECK(dot_stuff("a\n.b\r\nc.d\r\n.") == "a\n..b\r\nc.d\r\n..\r\n.\r\n");
    CHECK(dot_stuff(".\r\n.\r\n") == "..\r\n..\r\n.\r\n");
}
