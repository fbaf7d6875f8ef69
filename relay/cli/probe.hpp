// probe: `chainmail probe`, a live check that sends no mail (EHLO, STARTTLS,
// QUIT only). Facts are gathered per host with the delivery code itself
// (connector, host_session), then policy judges each of the nine levels.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "policy/dns_facts.hpp"
#include "policy/probe_verdict.hpp"
#include "relay/connect/connector.hpp"
#include "relay/deliver/smtp_client.hpp"
#include "relay/mtasts/sts_source.hpp"
#include "relay/resolve/dnssec_selfcheck.hpp"

namespace chainmail::cli {

// One connection to one host under one verification (levels that verify
// alike share it).
struct ProbeSession {
    bool required = false;  // STARTTLS required (NCSC cipher list), not opportunistic
    tls::TlsRequirement verified;
    bool opened = false;  // Connection::open() passed every step
    deliver::SessionFacts facts;
    std::optional<deliver::SessionFacts> before_retry;  // `may`: the failed TLS attempt
};

struct HostProbe {
    policy::HostFacts facts;  // name, preference, port, address DNSSEC state, TLSA
    std::vector<std::string> addresses;
    std::string note;  // why the address lookup failed
    std::vector<ProbeSession> sessions;
};

struct TargetProbe {
    std::string target;  // as given
    std::string domain;
    config::Partner partner;  // the rule that applies (as `chainmail policy` says)
    bool is_default = true;
    std::string why;
    connect::Target route;
    policy::MxFacts mx;
    std::optional<policy::Outcome> destination;  // check_destination(): null MX, bogus MX, ...
    bool sts_looked_up = false;
    policy::MtaStsFacts sts;
    std::vector<HostProbe> hosts;
    std::vector<policy::LevelVerdict> levels;  // the nine, weakest first (table order)
    std::optional<policy::TlsLevel> strongest;
    double seconds = 0;
};

struct ProbeSetup {
    const config::Config* config = nullptr;
    // Sessions already made in this run, by host, port and session_key(): a
    // host shared by several targets under the same verification is
    // connected to once (never across runs: the probe is live).
    std::map<std::string, ProbeSession>* seen = nullptr;  // never null
    connect::Connector* connector = nullptr;
    tls::ClientTls* tls = nullptr;
    mtasts::StsSource* sts = nullptr;
    std::optional<std::uint16_t> port;  // --port: instead of delivery.port
};

boost::asio::awaitable<TargetProbe> probe_target(const ProbeSetup& setup, std::string target);

// What the sessions of a host showed, for output.
struct HostView {
    std::optional<bool> starttls;        // nullopt: never got as far as EHLO
    std::string greeting_error;          // when no session reached EHLO
    const tls::TlsFacts* tls = nullptr;  // the handshake to show (required levels first)
    const std::vector<tls::CertInfo>* chain = nullptr;
    std::optional<bool> pkix_chain, pkix_name;  // under `verify`: chain to ca_file, MX name
    std::string pkix_detail;
    std::optional<policy::TlsaRecord> tlsa_matched;
};
HostView view_of(const HostProbe& h);

std::string fingerprint_text(const std::array<std::uint8_t, 32>& fp);  // "sha256:AB:CD:..."
std::string hex_text(const std::vector<std::uint8_t>& data);

// One JSON object per target (one line each), and the text for people.
std::string probe_json(const TargetProbe& p, const resolve::DnssecSelfCheck& self);
std::string probe_text(const TargetProbe& p);
std::string selfcheck_text(const resolve::DnssecSelfCheck& self);

}  // namespace chainmail::cli
