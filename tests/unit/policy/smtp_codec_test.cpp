// The encodings of the SMTP wire in one place: xtext (RFC 3461 §4), base64
// (RFC 4648 §4), ASCII case.
#include <catch2/catch.hpp>

#include "policy/smtp_codec.hpp"

using namespace chainmail::policy;

TEST_CASE("xtext decodes hexchars and refuses what RFC 3461 §4 excludes") {
    CHECK(xtext_decode("abc") == "abc");
    CHECK(xtext_decode("a+2Bb+3Dc") == "a+b=c");
    CHECK(xtext_decode("") == "");
    CHECK_FALSE(xtext_decode("a+2b"));  // hex digits are upper case
    CHECK_FALSE(xtext_decode("a+2"));
    CHECK_FALSE(xtext_decode("a+"));
    CHECK_FALSE(xtext_decode("a=b"));
    CHECK_FALSE(xtext_decode("a b"));
    CHECK_FALSE(xtext_decode("\x7f"));
}

TEST_CASE("base64 for SASL") {
    CHECK(base64_decode("AHVzZXIAcGFzcw==") == std::string("\0user\0pass", 10));
    CHECK(base64_decode("") == "");
    CHECK_FALSE(base64_decode("abc"));
    CHECK_FALSE(base64_decode("ab=c"));
    CHECK_FALSE(base64_decode("a*bc"));
    for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                          std::string("abcd"), std::string("\0\xff\x10", 3)})
        CHECK(base64_decode(base64_encode(s)) == s);
}

TEST_CASE("xtext encodes what xchar excludes, and decodes back") {
    CHECK(xtext_encode("a+b=c d\x01\xc3\xa9") == "a+2Bb+3Dc+20d+01+C3+A9");
    for (std::string s : {std::string(), std::string("<id@x.nl>"), std::string("+=+"),
                          std::string("\0\x7f\xff", 3)})
        CHECK(xtext_decode(xtext_encode(s)) == s);
}

TEST_CASE("ASCII case folding leaves other bytes alone") {
    CHECK(ascii_lower("Mx.Ziekenhuis-WEST.nl") == "mx.ziekenhuis-west.nl");
    CHECK(ascii_lower("\xc3\x89"
                      "A") ==
          "\xc3\x89"
          "a");  // É stays
}
