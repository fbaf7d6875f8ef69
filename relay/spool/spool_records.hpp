// spool_records: the byte format of one journal record (see FORMAT.md):
// header (magic, length, type, queue id), payload, CRC-32 and END marker.
// Encoders never fail; decoders return nullopt for anything malformed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/spool/envelope.hpp"

namespace chainmail::spool::records {

enum class Type : std::uint8_t { Message = 1, Update = 2, Held = 3, Remove = 4, Notice = 5 };

inline constexpr std::size_t kHeaderSize = 40;
inline constexpr std::size_t kTrailerSize = 8;
inline constexpr std::size_t kIdSize = 26;
inline constexpr std::uint32_t kRecordMagic = 0x31524d43;  // "CMR1" little-endian
inline constexpr std::uint32_t kEndMarker = 0x2e444e45;    // "END." little-endian
inline constexpr std::uint8_t kFormatVersion = 1;

// CRC-32 (IEEE 802.3, the polynomial of zlib's crc32); start with crc = 0.
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n);

// One record ready for writev: head (header and envelope part), body (the
// message bytes, moved in rather than copied) and tail (CRC and END).
struct Encoded {
    std::string head;
    std::string body;
    std::array<char, kTrailerSize> tail{};
    // Offset of the message bytes from the start of the record.
    std::size_t body_offset() const { return head.size(); }
    std::size_t size() const { return head.size() + body.size() + tail.size(); }
};

Encoded encode_message(const Envelope& env, std::string body);
Encoded encode_update(const QueueId& id, const std::vector<RecipientUpdate>& changes);
Encoded encode_held(const QueueId& id, bool held);
Encoded encode_remove(const QueueId& id);
// The delay notice of the message was sent (payload: u8 bit 1).
Encoded encode_notice(const QueueId& id);

struct Header {
    Type type = Type::Message;
    std::uint32_t length = 0;  // payload bytes
    QueueId id;
};

// nullopt when the bytes at a record position are not a record header.
std::optional<Header> parse_header(const char* p);

// The CRC and END marker match the header and payload as read.
bool check_trailer(const char* header, std::string_view payload, const char* trailer);

struct MessagePayload {
    Envelope env;                   // id and size filled in
    std::uint64_t body_offset = 0;  // of the message bytes within the payload
};

std::optional<MessagePayload> decode_message(const QueueId& id, std::string_view payload);
std::optional<std::vector<RecipientUpdate>> decode_update(std::string_view payload);
std::optional<bool> decode_held(std::string_view payload);
// true when the delay-notice bit is set.
std::optional<bool> decode_notice(std::string_view payload);

}  // namespace chainmail::spool::records
