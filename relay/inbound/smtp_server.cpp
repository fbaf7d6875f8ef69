#include "relay/inbound/smtp_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "relay/inbound/smtp_session.hpp"
#include "relay/tls/server_tls.hpp"

namespace chainmail::inbound {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SmtpServer::Listener {
    Listener(asio::io_context& io, config::Listener c) : acceptor(io), conf(std::move(c)) {}
    tcp::acceptor acceptor;
    config::Listener conf;
};

std::shared_ptr<const ServerState> make_server_state(const config::Config& cfg) {
    auto st = std::make_shared<ServerState>();
    st->config = std::make_shared<const config::Config>(cfg);
    if (!cfg.tls.certificate.empty()) st->tls = tls::make_server_context(cfg.tls);
    if (!cfg.auth.users_file.empty())
        st->users = std::make_shared<const UserDb>(UserDb::load(cfg.auth.users_file));
    return st;
}

SmtpServer::SmtpServer(asio::io_context& io, spool::Spool& spool, log::DeliveryLog& log,
                       std::shared_ptr<const ServerState> state, ServerOptions options)
    : io_(io), core_(std::make_shared<ServerCore>(spool, log)) {
    core_->state = std::move(state);
    core_->options = options;
}

SmtpServer::~SmtpServer() = default;

void SmtpServer::start() {
    for (const auto& l : core_->state->config->listen) {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(l.address.host, ec);
        if (ec) throw std::runtime_error("listen address " + l.address.host + ": " + ec.message());
        tcp::endpoint ep(addr, l.address.port);
        auto lst = std::make_unique<Listener>(io_, l);
        auto& a = lst->acceptor;
        a.open(ep.protocol());
        a.set_option(tcp::acceptor::reuse_address(true));
        // "[::]" and "0.0.0.0" on the same port must both bind: no dual-stack.
        if (addr.is_v6()) a.set_option(asio::ip::v6_only(true));
        a.bind(ep, ec);
        if (ec) {
            throw std::runtime_error("cannot listen on " + l.address.host + ":" +
                                     std::to_string(l.address.port) + ": " + ec.message());
        }
        a.listen(asio::socket_base::max_listen_connections);
        listeners_.push_back(std::move(lst));
    }
    for (std::size_t i = 0; i < listeners_.size(); ++i) accept_next(i);
}

void SmtpServer::accept_next(std::size_t index) {
    auto& l = *listeners_[index];
    l.acceptor.async_accept([this, index, core = core_](boost::system::error_code ec,
                                                        tcp::socket socket) {
        if (core->stopping || ec == asio::error::operation_aborted) return;
        if (ec) {
            // EMFILE and kin: log and keep accepting; the peer got nothing.
            spdlog::warn("inbound: accept failed: {}", ec.message());
            accept_next(index);
            return;
        }
        const auto& cfg = *core->state->config;
        if (core->sessions.size() >= static_cast<std::size_t>(cfg.limits.max_connections)) {
            auto sock = std::make_shared<tcp::socket>(std::move(socket));
            auto msg = std::make_shared<std::string>("421 4.7.0 " + cfg.hostname +
                                                     " Error: too many connections\r\n");
            asio::async_write(*sock, asio::buffer(*msg),
                              [sock, msg](boost::system::error_code, std::size_t) {
                                  boost::system::error_code ignored;
                                  sock->close(ignored);
                              });
        } else {
            std::make_shared<TcpSession>(core, std::move(socket), listeners_[index]->conf)->start();
        }
        accept_next(index);
    });
}

void SmtpServer::reload(std::shared_ptr<const ServerState> state) {
    const auto& old_listen = core_->state->config->listen;
    const auto& new_listen = state->config->listen;
    bool same = old_listen.size() == new_listen.size();
    for (std::size_t i = 0; same && i < old_listen.size(); ++i)
        same = old_listen[i].address.host == new_listen[i].address.host &&
               old_listen[i].address.port == new_listen[i].address.port;
    if (!same) spdlog::warn("reload: listen addresses changed; they take effect after a restart");
    // Per-listener switches (starttls, auth, require_starttls) follow the new file.
    for (std::size_t i = 0; same && i < listeners_.size(); ++i) listeners_[i]->conf = new_listen[i];
    core_->state = std::move(state);
}

void SmtpServer::stop(std::function<void()> done) {
    core_->stopping = true;
    boost::system::error_code ec;
    for (auto& l : listeners_) l->acceptor.close(ec);
    if (core_->sessions.empty()) {
        asio::post(io_, std::move(done));
        return;
    }
    core_->on_idle = std::move(done);
    for (Session* s : core_->sessions) s->begin_shutdown();
}

std::vector<std::string> SmtpServer::endpoints() const {
    std::vector<std::string> out;
    for (const auto& l : listeners_) {
        boost::system::error_code ec;
        auto ep = l->acceptor.local_endpoint(ec);
        if (ec) continue;
        out.push_back(ep.address().is_v6()
                          ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                          : ep.address().to_string() + ":" + std::to_string(ep.port()));
    }
    return out;
}

}  // namespace chainmail::inbound
