// config_validate: the checks that span several keys (contradictions between
// settings, one domain in two partners) and the files the configuration
// names. Runs after the walk, with the positions the walk recorded.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "config/config_walk.hpp"

namespace chainmail::config::detail {
namespace {

struct Checker {
    const Config& c;
    const Walked& w;
    std::vector<ConfigError>& errors;

    void error(const std::string& path, const std::string& message) {
        errors.push_back({w.at(path), path + ": " + message});
    }
    void error(Position p, const std::string& message) {
        errors.push_back({std::move(p), message});
    }
    Position at(const std::string& path, const Position& fallback) const {
        return w.has(path) ? w.at(path) : fallback;
    }

    void file(const std::string& path, const std::string& name, bool directory) {
        if (!w.has(path)) return;  // only files the operator named explicitly
        struct stat st {};
        std::string why;
        if (name.empty())
            why = "may not be empty";
        else if (::stat(name.c_str(), &st) != 0)
            why = "cannot read '" + name + "': " + std::strerror(errno);
        else if (directory && !S_ISDIR(st.st_mode))
            why = "'" + name + "' is not a directory";
        else if (!directory && !S_ISREG(st.st_mode))
            why = "'" + name + "' is not a regular file";
        else if (::access(name.c_str(), directory ? (R_OK | X_OK) : R_OK) != 0)
            why = "cannot read '" + name + "': " + std::strerror(errno);
        if (!why.empty()) error(path, why);
    }

    // serve creates the spool directory (and its parents) and appends to
    // the delivery log: what it needs is a directory it can write into.
    void writable_dir(const std::string& path, const std::string& dir, const std::string& what,
                      bool may_create) {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::path d = dir.empty() ? fs::path(".") : fs::path(dir);
        if (may_create) {
            // The nearest directory that exists is the one that must be writable.
            while (!fs::exists(d, ec) && d.has_parent_path() && d != d.parent_path())
                d = d.parent_path();
            if (!fs::exists(d, ec)) d = ".";  // a relative name: the working directory
        } else if (!fs::exists(d, ec)) {
            error(where(path), path + ": " + what + " '" + d.string() +
                                   "' does not exist; create it, owned by the user that runs "
                                   "chainmail");
            return;
        }
        if (!fs::is_directory(d, ec)) {
            error(where(path), path + ": '" + d.string() + "' is not a directory");
            return;
        }
        if (::access(d.c_str(), W_OK | X_OK) != 0)
            error(where(path), path + ": " + what + " '" + d.string() +
                                   "' is not writable by uid " + std::to_string(::geteuid()) +
                                   ": " + std::strerror(errno));
    }
    // A default value has no line of its own: point at the top of the file.
    Position where(const std::string& path) const { return w.at(path); }

    void directories() {
        writable_dir("spool", c.spool, "the spool directory", true);
        if (c.log.delivery_log.empty()) return;
        namespace fs = std::filesystem;
        const fs::path log(c.log.delivery_log);
        const fs::path spool(c.spool);
        // Under the spool (the default), serve creates the directory first.
        const bool under_spool = log.parent_path() == spool;
        if (under_spool && !fs::exists(spool)) return;
        writable_dir("log.delivery_log", log.parent_path().string(),
                     "the directory of the delivery log", false);
        if (fs::exists(log) && ::access(log.c_str(), W_OK) != 0)
            error(where("log.delivery_log"),
                  "log.delivery_log: '" + log.string() + "' is not writable by uid " +
                      std::to_string(::geteuid()) + ": " + std::strerror(errno));
    }

    // serve loads the pair with SSL_CTX_check_private_key and stops when
    // they do not belong together; say so here, at the key.
    void key_matches_certificate() {
        if (c.tls.certificate.empty() || c.tls.private_key.empty()) return;
        if (!w.has("tls.certificate") || !w.has("tls.private_key")) return;
        if (auto why = identity_mismatch(c.tls.certificate, c.tls.private_key))
            error(why->key, why->message);
    }

    void identity() {
        if (!c.tls.certificate.empty() && c.tls.private_key.empty())
            error("tls.certificate", "needs tls.private_key as well");
        if (c.tls.certificate.empty() && !c.tls.private_key.empty())
            error("tls.private_key", "needs tls.certificate as well");
    }

    void listeners() {
        std::map<std::pair<std::string, int>, std::size_t> seen;
        for (std::size_t i = 0; i < c.listen.size(); ++i) {
            const Listener& l = c.listen[i];
            const std::string p = "listen[" + std::to_string(i) + "]";
            // AUTH only after STARTTLS: passwords never cross the wire in the clear.
            if (l.auth) {
                if (c.auth.users_file.empty())
                    error(at(p + ".auth", l.where),
                          p + ".auth: auth: true needs auth.users_file (user:crypt(3) hash lines)");
                if (c.tls.certificate.empty())
                    error(at(p + ".auth", l.where),
                          p + ".auth: auth: true needs tls.certificate: AUTH is offered only "
                              "after STARTTLS");
                else if (!l.starttls)
                    error(at(p + ".auth", l.where),
                          p + ".auth: auth: true needs starttls: true: AUTH is offered only "
                              "after STARTTLS");
            }
            if (l.require_starttls && (c.tls.certificate.empty() || !l.starttls))
                error(at(p + ".require_starttls", l.where),
                      p + ".require_starttls: needs starttls: true and tls.certificate, or no "
                          "client could ever send mail");
            auto key = std::make_pair(l.address.host, static_cast<int>(l.address.port));
            if (l.address.port != 0 && !seen.emplace(key, i).second)
                error(at(p + ".address", l.where),
                      p + ".address: the same address is listed twice");
        }
    }

    void rule(const Partner& r, const std::string& p) {
        // (When the file lists fingerprints that are all bad, those errors say enough.)
        if (r.tls == policy::TlsLevel::Fingerprint && r.fingerprints.empty() &&
            !w.has(p + ".fingerprints[0]"))
            error(at(p + ".tls", r.where),
                  p + ".tls: tls: fingerprint needs at least one entry in fingerprints");
        const bool reroute = r.on_tls_failure == policy::OnTlsFailure::Reroute;
        if (reroute && !r.fallback_next_hop)
            error(at(p + ".on_tls_failure", r.where),
                  p + ".on_tls_failure: reroute needs fallback_next_hop");
        if (!reroute && w.has(p + ".fallback_next_hop"))
            error(p + ".fallback_next_hop", "is used only with on_tls_failure: reroute");
    }

    void partners() {
        rule(c.defaults, "defaults");
        std::map<std::string, std::size_t> names;
        // A domain entry (exact or ".x") belongs to one partner; a more specific
        // entry in another partner is fine: the most specific entry wins.
        std::map<std::string, std::pair<std::size_t, Position>> domains;
        for (std::size_t i = 0; i < c.partners.size(); ++i) {
            const Partner& r = c.partners[i];
            const std::string p = "partners[" + std::to_string(i) + "]";
            rule(r, p);
            if (!r.name.empty()) {
                auto [it, fresh] = names.emplace(r.name, i);
                if (!fresh)
                    error(p + ".name", "partner name '" + r.name + "' is already used by " +
                                           "partners[" + std::to_string(it->second) + "]");
            }
            for (std::size_t j = 0; j < r.domains.size(); ++j) {
                const std::string dp = p + ".domains[" + std::to_string(j) + "]";
                auto [it, fresh] = domains.emplace(r.domains[j], std::make_pair(i, w.at(dp)));
                if (fresh) continue;
                const Position& first = it->second.second;
                if (it->second.first == i)
                    error(dp, "'" + r.domains[j] + "' is listed twice in this partner");
                else
                    error(dp, "'" + r.domains[j] + "' is already in partner '" +
                                  c.partners[it->second.first].name + "' (" + first.file + ":" +
                                  std::to_string(first.line) + ":" + std::to_string(first.col) +
                                  "); a domain belongs to one partner");
            }
        }
    }
};

}  // namespace

void validate(const Config& config, const Walked& walked, const LoadOptions& options,
              std::vector<ConfigError>& errors) {
    Checker k{config, walked, errors};
    k.identity();
    k.listeners();
    k.partners();
    if (config.delivery.concurrency_per_destination > config.delivery.max_concurrency)
        k.error("delivery.concurrency_per_destination",
                "is larger than delivery.max_concurrency (" +
                    std::to_string(config.delivery.max_concurrency) + ")");
    if (!options.check_files) return;
    const std::size_t before = errors.size();
    k.file("tls.certificate", config.tls.certificate, false);
    k.file("tls.private_key", config.tls.private_key, false);
    if (errors.size() == before) k.key_matches_certificate();
    k.directories();
    k.file("tls.ca_file", config.tls.ca_file, false);
    k.file("auth.users_file", config.auth.users_file, false);
    k.file("dns.trust_anchor_file", config.dns.trust_anchor_file, false);
    k.file("ndr.templates", config.ndr.templates, true);
}

}  // namespace chainmail::config::detail
