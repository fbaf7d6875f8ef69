// outbound: the scheduler loop and the destination workers, on one executor.
#include "relay/outbound/outbound.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "relay/bounce/ndr_template.hpp"
#include "relay/connect/connector.hpp"
#include "relay/deliver/delivery_attempt.hpp"
#include "relay/mtasts/sts_source.hpp"
#include "relay/outbound/queue_control.hpp"
#include "relay/schedule/scheduler.hpp"
#include "relay/settle/settle.hpp"
#include "relay/tls/client_tls.hpp"

namespace chainmail::outbound {

namespace asio = boost::asio;

namespace {

// Even with nothing due the loop looks at the queue this often (an operator's
// `queue retry` or release through another path, a clock step).
constexpr std::int64_t kMaxSleepMs = 30'000;
// A worker whose destination has nothing due keeps its connection this long
// for the next message before QUIT (Postfix: smtp_connection_cache_time_limit).
constexpr std::int64_t kIdleConnectionMs = 2'000;

bounce::NdrTemplates load_templates(const config::Config& cfg) {
    if (cfg.ndr.templates.empty()) return bounce::NdrTemplates::shipped();
    std::vector<std::string> errors;
    bounce::NdrTemplates t = bounce::NdrTemplates::load(cfg.ndr.templates, errors);
    for (const std::string& e : errors) spdlog::warn("ndr template: {}", e);
    return t;
}

}  // namespace

struct Outbound::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor e, const config::Config& c, spool::Spool& s, log::DeliveryLog& l,
         OutboundOptions o)
        : ex(e),
          cfg(std::make_shared<const config::Config>(c)),
          spool(s),
          log(l),
          opts(std::move(o)),
          resolver(e, c.dns, opts.resolver),
          tls(c.tls.ca_file),
          connector(resolver),
          sts(e, resolver,
              {c.tls.ca_file, c.spool + "/mta-sts", c.mta_sts.port,
               std::chrono::duration_cast<std::chrono::milliseconds>(c.mta_sts.fetch_timeout)}),
          templates(load_templates(c)),
          sched(*cfg),
          timer(e),
          rng(std::random_device{}()),
          control(e, ControlHooks{spool, log, [this] { return cfg; }, templates,
                                  [this](const spool::QueueId& id) { return sched.in_flight(id); },
                                  [this](const spool::QueueId& id, std::size_t i) {
                                      return sched.in_flight(id, i);
                                  },
                                  [this](const spool::QueueId& id) { reindex(id); },
                                  [this] { wake(); }, [this] { return started; },
                                  [this] { connector.forget_failures(); }, opts.now_ms}) {}

    asio::any_io_executor ex;
    std::shared_ptr<const config::Config> cfg;
    spool::Spool& spool;
    log::DeliveryLog& log;
    OutboundOptions opts;
    resolve::DnsResolver resolver;
    tls::ClientTls tls;
    connect::Connector connector;
    mtasts::StsSource sts;  // MTA-STS policies, cached under SPOOL/mta-sts
    bounce::NdrTemplates templates;
    schedule::Scheduler sched;
    asio::steady_timer timer;
    std::mt19937_64 rng;
    QueueControl control;  // the operator's actions (control socket)
    bool started = false;
    bool stopping = false;
    bool dirty = false;  // a wake-up arrived while the loop was busy
    bool rescan = true;  // reload the scheduler's index from the whole queue
    std::int64_t last_rescan_ms = 0;
    // Workers holding an idle connection: their destination, wait timer and
    // a flag that asks them to close it (another destination needs the slot).
    struct Idler {
        std::string dest;
        asio::steady_timer* timer;
        bool* evict;
    };
    std::vector<Idler> idlers;
    std::size_t workers = 0;
    std::function<void()> on_stopped;

    void wake() {
        dirty = true;
        timer.cancel();
    }

    // The scheduler's view of one message: a message an operator's action is
    // stopping counts as held, so no attempt starts on it.
    void reindex(const spool::QueueId& id) {
        std::optional<spool::Envelope> env = spool.find(id);
        if (env && control.stopping(id)) env->held = true;
        sched.refresh(id, env);
    }

    // A message was committed: index it, and let an idle connection to its
    // destination take it before the loop opens another one.
    void committed(const spool::QueueId& id) {
        reindex(id);
        kick_idle();
        wake();
    }

    void kick_idle() {
        const std::int64_t now = opts.now_ms();
        for (const Idler& i : idlers)
            if (stopping || sched.has_due(i.dest, now)) i.timer->cancel();
        // An idle connection must not keep another destination's mail waiting.
        if (!stopping && !idlers.empty() && sched.starved(now)) {
            const Idler& oldest = idlers.front();
            *oldest.evict = true;
            oldest.timer->cancel();
        }
    }

    void spawn(asio::awaitable<void> a, const char* what) {
        asio::co_spawn(ex, std::move(a), [what](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                spdlog::error("outbound {}: {}", what, x.what());
            }
        });
    }

    void maybe_stopped() {
        if (stopping && workers == 0 && on_stopped) {
            auto f = std::move(on_stopped);
            on_stopped = nullptr;
            f();
        }
    }

    asio::awaitable<void> loop() {
        auto self = shared_from_this();
        co_await settle::remove_finished(spool);
        while (!stopping) {
            dirty = false;
            const std::int64_t now = opts.now_ms();
            // The index follows commits and settled attempts; the whole queue
            // is read again only now and then (operator changes made on disk).
            if (rescan || now - last_rescan_ms >= kMaxSleepMs) {
                rescan = false;
                last_rescan_ms = now;
                std::vector<spool::Envelope> live = spool.live();
                for (spool::Envelope& env : live)
                    if (control.stopping(env.id)) env.held = true;
                sched.rebuild(live);
                kick_idle();
            }
            schedule::Pick p = sched.next(now);
            if (p.kind == schedule::Pick::Kind::Ready) {
                ++workers;
                spawn(worker(p.destination, std::move(p.batch), cfg), "worker");
                continue;
            }
            if (dirty) continue;
            kick_idle();  // a retry came due where a connection waits idle
            std::int64_t sleep = kMaxSleepMs;
            if (p.kind == schedule::Pick::Kind::Sleep)
                sleep = std::clamp<std::int64_t>(p.wake_ms - now, 1, kMaxSleepMs);
            timer.expires_after(std::chrono::milliseconds(sleep));
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

    asio::awaitable<void> attempt_one(deliver::DeliveryAttempt& attempt, const config::Config& c,
                                      const schedule::Batch& b) {
        auto env = spool.find(b.id);
        if (!env) co_return;
        std::vector<std::size_t> rcpts;
        for (std::size_t i : b.rcpts)
            if (i < env->recipients.size() && env->recipients[i].state == spool::RcptState::Pending)
                rcpts.push_back(i);
        if (rcpts.empty() || env->held || control.stopping(b.id)) co_return;
        std::string data;
        if (auto ec = spool.read_message(b.id, data)) {
            spdlog::error("{}: cannot read the message: {}", b.id, ec.message());
            data.clear();
        }
        deliver::AttemptResult res;
        if (data.empty()) {  // unreadable: a deferral, never a delivery of nothing
            policy::Situation s;
            s.arrival =
                policy::FailureClock::time_point(std::chrono::milliseconds(env->arrival_ms));
            s.now = policy::FailureClock::time_point(std::chrono::milliseconds(opts.now_ms()));
            s.max_lifetime = c.queue.max_lifetime;
            const policy::NextStep next =
                policy::next_step({policy::Happened::LocalError, policy::Reason::Unknown}, s);
            for (std::size_t i : rcpts) {
                deliver::RcptResult r;
                r.index = i;
                r.outcome = next.outcome;
                r.reason = policy::Reason::Unknown;
                r.dsn = next.status;
                r.reply = "the spooled message cannot be read";
                res.rcpts.push_back(r);
            }
        } else {
            // Asked at the last moments (before MAIL FROM, before the final
            // dot): an operator's hold, delete or bounce stops the attempt.
            // A named local passed by reference: g++ 12 destroys a
            // by-value std::function argument of a co_await call twice.
            const std::function<bool()> go_ahead = [this, id = b.id] {
                return !control.stopping(id);
            };
            res = co_await attempt.deliver(*env, rcpts, data, go_ahead);
        }
        // Stopped recipients keep their state: the operator's action writes it.
        std::erase_if(res.rcpts, [](const deliver::RcptResult& r) {
            return r.outcome == policy::RcptOutcome::Cancelled;
        });
        if (res.rcpts.empty()) co_return;
        settle::SettleContext ctx{c, templates, spool, log, [this] {
                                      return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
                                  }};
        co_await settle::settle(ctx, *env, data, res, opts.now_ms());
    }

    // Holds the connection open up to kIdleConnectionMs for the next due
    // message of `dest`; empty rcpts: none came (or stopping).
    asio::awaitable<schedule::Batch> wait_idle(const std::string& dest) {
        asio::steady_timer t(ex);
        bool evict = false;
        idlers.push_back({dest, &t, &evict});
        sched.set_idle(dest, true);
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(kIdleConnectionMs);
        schedule::Batch b;
        while (!stopping) {
            t.expires_at(deadline);
            boost::system::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (stopping || evict) break;
            b = sched.next_for(dest, opts.now_ms());
            if (!b.rcpts.empty() || std::chrono::steady_clock::now() >= deadline) break;
        }
        sched.set_idle(dest, false);
        std::erase_if(idlers, [&t](const Idler& i) { return i.timer == &t; });
        co_return b;
    }

    asio::awaitable<void> worker(std::string dest, schedule::Batch batch,
                                 std::shared_ptr<const config::Config> c) {
        auto self = shared_from_this();
        deliver::DeliveryAttempt attempt(
            {c.get(), &tls, &connector, &sts, opts.timeout_scale, opts.tls_sessions, opts.now_ms});
        int n = 0;
        while (!batch.rcpts.empty()) {
            try {
                co_await attempt_one(attempt, *c, batch);
            } catch (const std::exception& e) {  // a broken invariant: log, keep the relay up
                spdlog::error("{}: delivery attempt failed: {}", batch.id, e.what());
            }
            sched.done(batch);
            reindex(batch.id);
            if (stopping || ++n >= opts.max_messages_per_connection) break;
            // The same destination's next message, over the same connection.
            batch = sched.next_for(dest, opts.now_ms());
            if (batch.rcpts.empty()) batch = co_await wait_idle(dest);
        }
        co_await attempt.close();
        sched.release(dest);
        --workers;
        wake();
        maybe_stopped();
    }
};

Outbound::Outbound(asio::any_io_executor ex, const config::Config& config, spool::Spool& spool,
                   log::DeliveryLog& log, OutboundOptions options)
    : impl_(std::make_shared<Impl>(ex, config, spool, log, std::move(options))) {}

Outbound::~Outbound() {
    impl_->spool.set_commit_listener({});
    impl_->stopping = true;
    impl_->timer.cancel();
    impl_->kick_idle();
}

void Outbound::start() {
    if (impl_->started) return;
    impl_->started = true;
    std::weak_ptr<Impl> weak = impl_;
    asio::any_io_executor ex = impl_->ex;
    // Called on the spool's writer thread: hand the wake-up to our executor.
    impl_->spool.set_commit_listener([weak, ex](const spool::QueueId& id) {
        asio::post(ex, [weak, id] {
            if (auto s = weak.lock()) s->committed(id);
        });
    });
    impl_->spawn(impl_->loop(), "scheduler");
}

void Outbound::stop(std::function<void()> on_stopped) {
    impl_->spool.set_commit_listener({});
    impl_->stopping = true;
    impl_->on_stopped = std::move(on_stopped);
    impl_->timer.cancel();
    impl_->kick_idle();
    impl_->maybe_stopped();
}

void Outbound::reload(const config::Config& config) {
    impl_->cfg = std::make_shared<const config::Config>(config);
    impl_->sched.reload(*impl_->cfg);
    impl_->rescan = true;  // destinations may have changed
    impl_->wake();
}

void Outbound::wake() {
    impl_->rescan = true;
    impl_->wake();
}

asio::awaitable<std::vector<ActionResult>> Outbound::act(QueueAction action,
                                                         const std::vector<spool::QueueId>& ids,
                                                         bool all) {
    auto self = impl_;  // alive until the action ends
    // The action runs on the delivery side's executor, which may be another
    // thread than the caller's (serve runs it on its own); named values, as
    // g++ 12 may destroy a temporary in a co_await expression twice.
    asio::awaitable<std::vector<ActionResult>> work = self->control.act(action, ids, all);
    asio::awaitable<std::vector<ActionResult>> done =
        asio::co_spawn(self->ex, std::move(work), asio::use_awaitable);
    co_return co_await std::move(done);
}

std::size_t Outbound::attempts_in_flight() const {
    return impl_->workers;
}

}  // namespace chainmail::outbound
