// spool_fs: opening and recovery of the journal spool, and the calls that
// hand records to the writer thread (group_commit.cpp).
#include "relay/spool/spool_fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace chainmail::spool {

namespace {
// Records carry a u32 payload length.
constexpr std::uint64_t kMaxMessageBytes = 0xFFFFFFFFull - (1u << 20);
}  // namespace

SpoolFs::SpoolFs(std::string dir, SpoolOptions options) : dir_(std::move(dir)), options_(options) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error(fmt::format("spool {}: {}", dir_, ec.message()));
    std::string lock_path = dir_ + "/lock";
    lock_ = journal::Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock_)
        throw std::runtime_error(fmt::format("spool {}: {}", lock_path, std::strerror(errno)));
    // Two serve processes appending to one journal would corrupt it.
    if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error(
            errno == EWOULDBLOCK
                ? fmt::format("spool {} is in use by another chainmail serve", dir_)
                : fmt::format("spool {}: lock: {}", lock_path, std::strerror(errno)));
    recover();
    compact();
    writer_ = std::thread([this] { writer_loop(); });
}

SpoolFs::~SpoolFs() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_one();
    writer_.join();
}

void SpoolFs::recover() {
    std::vector<std::uint64_t> seqs = journal::list_segments(dir_);
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        const std::uint64_t seq = seqs[i];
        const bool last = i + 1 == seqs.size();
        const std::string path = journal::segment_path(dir_, seq);
        auto seg = std::make_shared<Segment>();
        seg->seq = seq;
        seg->fd = journal::Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!seg->fd)
            throw std::runtime_error(fmt::format("spool {}: {}", path, std::strerror(errno)));
        std::uint64_t bad_payloads = 0;
        journal::ScanResult r = journal::scan_segment(
            seg->fd.get(), seq,
            [&](const records::Header& h, std::uint64_t off, std::string_view payload) {
                if (!index_.apply(h, seq, off, payload)) ++bad_payloads;
            });
        if (r.error)
            throw std::runtime_error(fmt::format("spool {}: read: {}", path, r.error.message()));
        if (r.corrupt + bad_payloads > 0)
            spdlog::warn("spool {}: skipped {} damaged record(s)", path, r.corrupt + bad_payloads);
        if (!r.header_ok && !last) {
            spdlog::warn("spool {}: not a segment of this spool; left alone", path);
            continue;
        }
        if (last && (r.torn || !r.header_ok)) {
            // A crash during the last write: cut off what was never acknowledged.
            spdlog::warn("spool {}: discarding {} bytes of an incomplete write", path,
                         r.file_size - r.good_end);
            std::uint64_t keep = r.header_ok ? r.good_end : 0;
            if (::ftruncate(seg->fd.get(), static_cast<off_t>(keep)) != 0 ||
                ::fdatasync(seg->fd.get()) != 0)
                throw std::runtime_error(
                    fmt::format("spool {}: truncate: {}", path, std::strerror(errno)));
            if (!r.header_ok) {
                ::close(seg->fd.release());
                ::unlink(path.c_str());
                if (auto ec = journal::create_segment(dir_, seq, seg->fd))
                    throw std::runtime_error(fmt::format("spool {}: {}", path, ec.message()));
                r.good_end = journal::kSegmentHeaderSize;
            }
        } else if (r.torn) {
            spdlog::warn("spool {}: {} bytes after the last complete record ignored", path,
                         r.file_size - r.good_end);
        }
        seg->size = last ? r.good_end : r.file_size;
        segments_[seq] = seg;
        if (last) end_ = r.good_end;
    }
    if (segments_.empty()) {
        auto seg = std::make_shared<Segment>();
        seg->seq = 1;
        if (auto ec = journal::create_segment(dir_, 1, seg->fd))
            throw std::runtime_error(fmt::format("spool {}: {}", dir_, ec.message()));
        seg->size = end_ = journal::kSegmentHeaderSize;
        segments_[1] = seg;
    }
    active_ = segments_.rbegin()->second;
    tail_ = end_;
    spdlog::info("spool {}: {} live message(s) in {} segment(s)", dir_, index_.entries().size(),
                 segments_.size());
}

void SpoolFs::enqueue(Op op) {
    {
        std::lock_guard lock(queue_mutex_);
        // A recipient's outcome goes to the kernel now, not after the sync in
        // progress: a process killed from here on keeps it, so only a message
        // in flight at the kill can be delivered twice (GUARANTEE.md).
        if (std::holds_alternative<std::vector<RecipientUpdate>>(op.change)) write_early(op);
        pending_.push_back(std::move(op));
    }
    queue_cv_.notify_one();
}

void SpoolFs::enqueue_group(std::vector<Op> ops) {
    {
        // One push under one lock: the writer takes them in one batch, in this
        // order, after whatever was written early (group_commit.cpp).
        std::lock_guard lock(queue_mutex_);
        for (Op& op : ops) pending_.push_back(std::move(op));
    }
    queue_cv_.notify_one();
}

void SpoolFs::write_early(Op& op) {
    if (broken_) return;  // the writer rolls to a new segment first
    const records::Encoded& r = op.rec;
    // A failure here is left to the writer thread, which writes the record
    // again in its batch and reports what happens then.
    if (journal::write_all(active_->fd.get(), tail_,
                           {{r.head.data(), r.head.size()},
                            {r.body.data(), r.body.size()},
                            {r.tail.data(), r.tail.size()}}))
        return;
    op.seq = active_->seq;
    op.offset = tail_;
    op.written = true;
    tail_ += r.size();
}

boost::asio::awaitable<std::error_code> SpoolFs::submit(Op op) {
    co_return co_await submit(std::move(op), boost::asio::use_awaitable);
}

std::error_code SpoolFs::message_op(Envelope& env, std::string message, Op& op) const {
    if (message.size() > kMaxMessageBytes) return std::make_error_code(std::errc::file_too_large);
    // The caller's clock stamps the arrival: the spool reads no clock.
    if (env.arrival_ms <= 0) return std::make_error_code(std::errc::invalid_argument);
    if (env.id.empty()) env.id = make_queue_id(env.arrival_ms);
    if (env.id.size() != records::kIdSize) return std::make_error_code(std::errc::invalid_argument);
    env.size = message.size();
    op.rec = records::encode_message(env, std::move(message));
    op.id = env.id;
    op.change = env;
    return {};
}

boost::asio::awaitable<std::error_code> SpoolFs::commit(Envelope& env, std::string message) {
    Op op;
    if (auto ec = message_op(env, std::move(message), op)) co_return ec;
    co_return co_await submit(std::move(op));
}

std::error_code SpoolFs::check_update(const QueueId& id,
                                      const std::vector<RecipientUpdate>& changes) const {
    std::lock_guard lock(mutex_);
    const Entry* e = index_.find(id);
    if (!e) return std::make_error_code(std::errc::no_such_file_or_directory);
    for (const RecipientUpdate& u : changes)
        if (u.index >= e->env.recipients.size())
            return std::make_error_code(std::errc::invalid_argument);
    return {};
}

boost::asio::awaitable<std::error_code> SpoolFs::update(const QueueId& id,
                                                        std::vector<RecipientUpdate> changes) {
    if (auto ec = check_update(id, changes)) co_return ec;
    Op op;
    op.rec = records::encode_update(id, changes);
    op.id = id;
    op.change = std::move(changes);
    co_return co_await submit(std::move(op));
}

boost::asio::awaitable<std::error_code> SpoolFs::commit_with_update(
    std::vector<NewMessage>& messages, const QueueId& id, std::vector<RecipientUpdate> changes) {
    if (auto ec = check_update(id, changes)) co_return ec;
    std::vector<Op> ops(messages.size() + 1);
    for (std::size_t i = 0; i < messages.size(); ++i)
        if (auto ec = message_op(messages[i].env, std::move(messages[i].bytes), ops[i]))
            co_return ec;
    Op& u = ops.back();
    u.rec = records::encode_update(id, changes);
    u.id = id;
    u.change = std::move(changes);
    co_return co_await submit_group(std::move(ops), boost::asio::use_awaitable);
}

boost::asio::awaitable<std::error_code> SpoolFs::submit_change(const QueueId& id,
                                                               records::Encoded rec,
                                                               Change change) {
    {
        // Only the presence is needed: no copy of the envelope on this path.
        std::lock_guard lock(mutex_);
        if (!index_.find(id)) co_return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    Op op;
    op.rec = std::move(rec);
    op.id = id;
    op.change = std::move(change);
    co_return co_await submit(std::move(op));
}

boost::asio::awaitable<std::error_code> SpoolFs::set_held(const QueueId& id, bool held) {
    return submit_change(id, records::encode_held(id, held), held);
}

boost::asio::awaitable<std::error_code> SpoolFs::remove(const QueueId& id) {
    return submit_change(id, records::encode_remove(id), Removal{});
}

boost::asio::awaitable<std::error_code> SpoolFs::mark_delay_notice_sent(const QueueId& id) {
    return submit_change(id, records::encode_notice(id), DelayNotice{});
}

void SpoolFs::set_commit_listener(std::function<void(const QueueId&)> listener) {
    std::lock_guard lock(listener_mutex_);
    listener_ = std::move(listener);
}

std::vector<Envelope> SpoolFs::live() const {
    std::lock_guard lock(mutex_);
    std::vector<Envelope> out;
    out.reserve(index_.entries().size());
    for (const auto& [id, e] : index_.entries()) out.push_back(e.env);
    return out;
}

std::optional<Envelope> SpoolFs::find(const QueueId& id) const {
    std::lock_guard lock(mutex_);
    const Entry* e = index_.find(id);
    if (!e) return std::nullopt;
    return e->env;
}

std::error_code SpoolFs::read_message(const QueueId& id, std::string& out) const {
    std::shared_ptr<Segment> seg;
    std::uint64_t offset = 0, size = 0;
    {
        std::lock_guard lock(mutex_);
        const Entry* e = index_.find(id);
        if (!e) return std::make_error_code(std::errc::no_such_file_or_directory);
        auto it = segments_.find(e->seq);
        if (it == segments_.end()) return std::make_error_code(std::errc::io_error);
        seg = it->second;  // keeps the file open even if compaction deletes it now
        offset = e->body_offset;
        size = e->env.size;
    }
    out.resize(size);
    return journal::read_exact(seg->fd.get(), offset, out.data(), out.size());
}

SpoolStats SpoolFs::stats() const {
    SpoolStats s;
    s.syncs = syncs_.load();
    s.records = records_.load();
    s.compactions = compactions_.load();
    std::lock_guard lock(mutex_);
    s.live_messages = index_.entries().size();
    for (const auto& [id, e] : index_.entries()) s.held_messages += e.env.held ? 1 : 0;
    s.segments = segments_.size();
    return s;
}

std::unique_ptr<Spool> open_spool(const std::string& dir, const SpoolOptions& options) {
    return std::make_unique<SpoolFs>(dir, options);
}

std::unique_ptr<Spool> open_spool(const std::string& dir) {
    return open_spool(dir, {});
}

}  // namespace chainmail::spool
