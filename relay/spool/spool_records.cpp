// spool_records: encoding and decoding of journal records. Integers are
// little-endian; strings are a u32 length and the bytes.
#include "relay/spool/spool_records.hpp"

#include <zlib.h>
#include <algorithm>
#include <cstring>

namespace chainmail::spool::records {

namespace {

class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }

  private:
    std::string& out_;
};

// Bounds-checked reader: any overrun sets failed() and yields zeros.
class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool failed() const { return failed_; }
    std::size_t pos() const { return pos_; }
    std::uint64_t uint(int bytes) {
        if (in_.size() - pos_ < static_cast<std::size_t>(bytes)) {
            failed_ = true;
            pos_ = in_.size();
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= std::uint64_t{static_cast<std::uint8_t>(in_[pos_ + i])} << (8 * i);
        pos_ += bytes;
        return v;
    }
    std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
    std::uint64_t u64() { return uint(8); }
    std::int64_t i64() { return static_cast<std::int64_t>(uint(8)); }
    std::string str() {
        std::uint32_t n = u32();
        if (failed_ || in_.size() - pos_ < n) {
            failed_ = true;
            return {};
        }
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }

  private:
    std::string_view in_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

std::uint32_t load32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(p[i])} << (8 * i);
    return v;
}

void store32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// Writes the header at the start of rec.head (reserved there by the caller)
// and seals the record with its CRC and END marker.
void finish(Encoded& rec, Type type, const QueueId& id) {
    std::uint64_t payload = rec.head.size() - kHeaderSize + rec.body.size();
    char* h = rec.head.data();
    std::memset(h, 0, kHeaderSize);
    store32(h, kRecordMagic);
    store32(h + 4, static_cast<std::uint32_t>(payload));
    h[8] = static_cast<char>(type);
    h[9] = static_cast<char>(kFormatVersion);
    std::memcpy(h + 12, id.data(), std::min(id.size(), kIdSize));
    std::uint32_t crc = crc32(0, rec.head.data(), rec.head.size());
    crc = crc32(crc, rec.body.data(), rec.body.size());
    store32(rec.tail.data(), crc);
    store32(rec.tail.data() + 4, kEndMarker);
}

Encoded start() {
    Encoded rec;
    rec.head.assign(kHeaderSize, '\0');
    return rec;
}

}  // namespace

std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
    // zlib's crc32 takes uInt lengths; feed large buffers in pieces.
    const auto* p = static_cast<const Bytef*>(data);
    uLong c = crc;
    while (n > 0) {
        const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
        c = ::crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(c);
}

Encoded encode_message(const Envelope& env, std::string body) {
    Encoded rec = start();
    Writer w(rec.head);
    w.str(env.sender);
    w.u8(static_cast<std::uint8_t>(env.ret));
    w.str(env.envid);
    w.u8(static_cast<std::uint8_t>(env.body));
    w.u8(static_cast<std::uint8_t>((env.smtputf8 ? 1 : 0) | (env.requiretls ? 2 : 0) |
                                   (env.held ? 4 : 0) | (env.ndr ? 8 : 0) |
                                   (env.delay_notice_sent ? 16 : 0)));
    w.i64(env.arrival_ms);
    w.str(env.client_ip);
    w.str(env.client_helo);
    w.str(env.client_tls);
    w.str(env.auth_user);
    w.str(env.message_id);
    w.u32(static_cast<std::uint32_t>(env.recipients.size()));
    for (const Recipient& r : env.recipients) {
        w.str(r.address);
        w.str(r.orcpt);
        w.u8(r.notify);
        w.u8(static_cast<std::uint8_t>(r.state));
        w.u32(r.attempts);
        w.i64(r.next_attempt_ms);
        w.str(r.last_error);
    }
    w.u64(body.size());
    rec.body = std::move(body);
    finish(rec, Type::Message, env.id);
    return rec;
}

Encoded encode_update(const QueueId& id, const std::vector<RecipientUpdate>& changes) {
    Encoded rec = start();
    Writer w(rec.head);
    w.u32(static_cast<std::uint32_t>(changes.size()));
    for (const RecipientUpdate& u : changes) {
        w.u32(static_cast<std::uint32_t>(u.index));
        w.u8(static_cast<std::uint8_t>(u.state));
        w.u32(u.attempts);
        w.i64(u.next_attempt_ms);
        w.str(u.last_error);
    }
    finish(rec, Type::Update, id);
    return rec;
}

Encoded encode_held(const QueueId& id, bool held) {
    Encoded rec = start();
    Writer(rec.head).u8(held ? 1 : 0);
    finish(rec, Type::Held, id);
    return rec;
}

Encoded encode_remove(const QueueId& id) {
    Encoded rec = start();
    finish(rec, Type::Remove, id);
    return rec;
}

Encoded encode_notice(const QueueId& id) {
    Encoded rec = start();
    Writer(rec.head).u8(1);
    finish(rec, Type::Notice, id);
    return rec;
}

std::optional<Header> parse_header(const char* p) {
    if (load32(p) != kRecordMagic) return std::nullopt;
    if (static_cast<std::uint8_t>(p[9]) != kFormatVersion) return std::nullopt;
    auto type = static_cast<std::uint8_t>(p[8]);
    if (type < 1 || type > 5) return std::nullopt;
    Header h;
    h.type = static_cast<Type>(type);
    h.length = load32(p + 4);
    h.id.assign(p + 12, kIdSize);
    return h;
}

bool check_trailer(const char* header, std::string_view payload, const char* trailer) {
    std::uint32_t crc = crc32(0, header, kHeaderSize);
    crc = crc32(crc, payload.data(), payload.size());
    return load32(trailer) == crc && load32(trailer + 4) == kEndMarker;
}

namespace {
bool valid_state(std::uint8_t s) {
    return s <= static_cast<std::uint8_t>(RcptState::Failed);
}
}  // namespace

std::optional<MessagePayload> decode_message(const QueueId& id, std::string_view payload) {
    Reader r(payload);
    MessagePayload m;
    Envelope& e = m.env;
    e.id = id;
    e.sender = r.str();
    std::uint8_t ret = r.u8();
    e.envid = r.str();
    std::uint8_t body = r.u8();
    std::uint8_t flags = r.u8();
    if (ret > static_cast<std::uint8_t>(Ret::Full) ||
        body > static_cast<std::uint8_t>(BodyType::EightBitMime))
        return std::nullopt;
    e.ret = static_cast<Ret>(ret);
    e.body = static_cast<BodyType>(body);
    e.smtputf8 = flags & 1;
    e.requiretls = flags & 2;
    e.held = flags & 4;
    e.ndr = flags & 8;
    e.delay_notice_sent = flags & 16;
    e.arrival_ms = r.i64();
    e.client_ip = r.str();
    e.client_helo = r.str();
    e.client_tls = r.str();
    e.auth_user = r.str();
    e.message_id = r.str();
    std::uint32_t n = r.u32();
    if (r.failed() || n > payload.size()) return std::nullopt;
    e.recipients.reserve(n);
    for (std::uint32_t i = 0; i < n && !r.failed(); ++i) {
        Recipient rc;
        rc.address = r.str();
        rc.orcpt = r.str();
        rc.notify = r.u8();
        std::uint8_t st = r.u8();
        if (!valid_state(st)) return std::nullopt;
        rc.state = static_cast<RcptState>(st);
        rc.attempts = r.u32();
        rc.next_attempt_ms = r.i64();
        rc.last_error = r.str();
        e.recipients.push_back(std::move(rc));
    }
    std::uint64_t size = r.u64();
    if (r.failed() || payload.size() - r.pos() != size) return std::nullopt;
    e.size = size;
    m.body_offset = r.pos();
    return m;
}

std::optional<std::vector<RecipientUpdate>> decode_update(std::string_view payload) {
    Reader r(payload);
    std::uint32_t n = r.u32();
    if (r.failed() || n > payload.size()) return std::nullopt;
    std::vector<RecipientUpdate> out;
    out.reserve(n);
    for (std::uint32_t i = 0; i < n && !r.failed(); ++i) {
        RecipientUpdate u;
        u.index = r.u32();
        std::uint8_t st = r.u8();
        if (!valid_state(st)) return std::nullopt;
        u.state = static_cast<RcptState>(st);
        u.attempts = r.u32();
        u.next_attempt_ms = r.i64();
        u.last_error = r.str();
        out.push_back(std::move(u));
    }
    if (r.failed() || r.pos() != payload.size()) return std::nullopt;
    return out;
}

std::optional<bool> decode_held(std::string_view payload) {
    if (payload.size() != 1) return std::nullopt;
    return payload[0] != 0;
}

std::optional<bool> decode_notice(std::string_view payload) {
    if (payload.size() != 1) return std::nullopt;
    return (payload[0] & 1) != 0;
}

}  // namespace chainmail::spool::records
