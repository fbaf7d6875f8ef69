#include <catch2/catch.hpp>

#include "policy/reply_classify.hpp"

using namespace chainmail::policy;

TEST_CASE("SMTP replies are classified by their first digit; the unknown is temporary") {
    struct Row {
        int code;
        ReplyClass expected;
    };
    const Row rows[] = {
        {250, ReplyClass::Ok},       {251, ReplyClass::Ok},       {354, ReplyClass::Ok},
        {421, ReplyClass::TempFail}, {450, ReplyClass::TempFail}, {452, ReplyClass::TempFail},
        {550, ReplyClass::PermFail}, {554, ReplyClass::PermFail}, {0, ReplyClass::TempFail},
        {199, ReplyClass::TempFail}, {600, ReplyClass::TempFail}, {999, ReplyClass::TempFail}};
    for (const Row& r : rows) {
        INFO(r.code);
        CHECK(classify(SmtpReply{r.code, "", {}}) == r.expected);
    }
}
