// Fuzzes the spool record decoder (relay/spool/spool_records): the bytes at a
// record position of a segment file after a crash, a torn write or a flipped
// bit (relay/spool/FORMAT.md). Properties: no read past the record, and a
// payload that decodes encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "relay/spool/spool_records.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace chainmail::spool;
namespace rec = chainmail::spool::records;

namespace {

std::string payload_of(const rec::Encoded& e) {
    return (e.head + e.body).substr(rec::kHeaderSize);
}

void decode(rec::Type type, const std::string& id, const std::string& payload) {
    switch (type) {
        case rec::Type::Message:
            if (auto m = rec::decode_message(id, payload)) {
                FUZZ_CHECK(m->body_offset <= payload.size());
                FUZZ_CHECK(m->env.size == payload.size() - m->body_offset);
                auto again = rec::encode_message(m->env, payload.substr(m->body_offset));
                // Flag bits beyond the five defined ones are dropped on decode.
                const std::string p = payload_of(again);
                FUZZ_CHECK(p.size() == payload.size());
                auto m2 = rec::decode_message(id, p);
                FUZZ_CHECK(m2 && m2->env.sender == m->env.sender &&
                           m2->env.recipients.size() == m->env.recipients.size() &&
                           m2->body_offset == m->body_offset);
            }
            break;
        case rec::Type::Update:
            if (auto u = rec::decode_update(payload)) {
                FUZZ_CHECK(payload_of(rec::encode_update(id, *u)) == payload);
            }
            break;
        case rec::Type::Held:
            if (auto h = rec::decode_held(payload)) FUZZ_CHECK(payload.size() == 1);
            break;
        case rec::Type::Remove:
            break;
        case rec::Type::Notice:
            if (auto n = rec::decode_notice(payload)) FUZZ_CHECK(payload.size() == 1);
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Every payload decoder on the raw bytes, as if a header had claimed them.
    const std::string raw(reinterpret_cast<const char*>(data), size);
    const std::string id(rec::kIdSize, '0');
    for (auto t : {rec::Type::Message, rec::Type::Update, rec::Type::Held, rec::Type::Notice})
        decode(t, id, raw);

    // And as a whole record, as the segment scanner reads it.
    if (size < rec::kHeaderSize) return 0;
    std::vector<char> header(raw.begin(), raw.begin() + rec::kHeaderSize);
    auto h = rec::parse_header(header.data());
    if (!h) return 0;
    FUZZ_CHECK(h->id.size() == rec::kIdSize);
    const std::size_t left = size - rec::kHeaderSize;
    if (h->length > left || left - h->length < rec::kTrailerSize) return 0;
    const std::string payload = raw.substr(rec::kHeaderSize, h->length);
    std::vector<char> trailer(raw.begin() + rec::kHeaderSize + h->length,
                              raw.begin() + rec::kHeaderSize + h->length + rec::kTrailerSize);
    if (!rec::check_trailer(header.data(), payload, trailer.data())) return 0;
    decode(h->type, h->id, payload);
    return 0;
}
