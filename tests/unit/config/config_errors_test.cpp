// Every class of configuration error is reported as FILE:LINE:COL: message,
// pointing at the key or value at fault; and all errors are reported at once.
// A file that cannot be read is FILE: message, with the ways forward.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"

using namespace chainmail::config;

namespace {

const LoadOptions kNoFiles{false};

std::vector<ConfigError> errors_of(const std::string& yaml, const LoadOptions& o = kNoFiles) {
    auto r = load_config_text(yaml, "t.yaml", o);
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r)) return *e;
    return {};
}

// Exactly one error, at `where` ("t.yaml:L:C"), whose message contains `text`.
void one_error(const std::string& yaml, const std::string& where, const std::string& text,
               const LoadOptions& o = kNoFiles) {
    auto errors = errors_of(yaml, o);
    INFO(yaml);
    for (const auto& e : errors) UNSCOPED_INFO(e.str());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].str().substr(0, where.size() + 2) == where + ": ");
    CHECK_THAT(errors[0].message, Catch::Contains(text));
}

bool loads(const std::string& yaml, const LoadOptions& o = kNoFiles) {
    auto errors = errors_of(yaml, o);
    for (const auto& e : errors) UNSCOPED_INFO(e.str());
    return errors.empty();
}

// A temporary directory, removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string t =
            (std::filesystem::temp_directory_path() / "chainmail-config-XXXXXX").string();
        REQUIRE(mkdtemp(t.data()));
        path = t;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name, const std::string& content = "x\n") const {
        std::ofstream(path / name) << content;
        return (path / name).string();
    }
};

}  // namespace

TEST_CASE("an unknown key names the near miss, or the keys allowed there") {
    one_error("listen:\n  - address: \"127.0.0.1:25\"\n    startls: true\n", "t.yaml:3:5",
              "listen[0].startls: unknown key; did you mean 'starttls'?");
    one_error("spool: /s\nfrobnicate: 1\n", "t.yaml:2:1", "allowed here: hostname, listen");
    one_error("tls:\n  cert: a.pem\n", "t.yaml:2:3",
              "allowed here: certificate, private_key, ca_file");
}

TEST_CASE("a wrong type is an error at the value") {
    one_error("listen: \"0.0.0.0:25\"\n", "t.yaml:1:9",
              "listen: expected a list, found a single value");
    one_error("tls: [a]\n", "t.yaml:1:6", "tls: expected a mapping, found a list");
    one_error("listen:\n  - address: \"127.0.0.1:25\"\n    starttls: \"true\"\n", "t.yaml:3:15",
              "expected true or false");
    one_error("defaults:\n  chunking: sometimes\n", "t.yaml:2:13", "expected true or false");
    one_error("limits:\n  max_recipients: lots\n", "t.yaml:2:19",
              "expected a whole number, found 'lots'");
    one_error("hostname:\n", "t.yaml:1:1", "hostname: expected a string, found nothing");
}

TEST_CASE("a bad duration says which units exist") {
    one_error("queue:\n  max_lifetime: 5 days\n", "t.yaml:2:17", "bad duration '5 days'");
    one_error("delivery:\n  connect_timeout: 30\n", "t.yaml:2:20", "s, m, h or d");
    one_error("queue:\n  retry_schedule: [1m, 5x]\n", "t.yaml:2:24", "bad duration '5x'");
    one_error("queue:\n  max_lifetime: 0\n", "t.yaml:2:17", "must be longer than 0");
    CHECK(loads("queue:\n  delay_warning_after: 0\n"));  // 0 turns delay notices off
}

TEST_CASE("a bad size says which units exist") {
    one_error("limits:\n  max_message_size: 50 MB\n", "t.yaml:2:21", "bad size '50 MB'");
    one_error("limits:\n  max_message_size: 1TB\n", "t.yaml:2:21", "KB, MB or GB");
    auto r = load_config_text("limits:\n  max_message_size: 10MB\n", "t.yaml", kNoFiles);
    REQUIRE(std::holds_alternative<Config>(r));
    CHECK(std::get<Config>(r).limits.max_message_size == 10u * 1024 * 1024);
}

TEST_CASE("a bad network is an error at that list item") {
    one_error("relay_from:\n  networks: [\"10.0.0.0/8\", \"10.1.2.3/8\"]\n", "t.yaml:2:28",
              "bad network '10.1.2.3/8'");
    one_error("relay_from:\n  networks:\n    - 10.0.0.0/40\n", "t.yaml:3:7", "bad network");
}

TEST_CASE("tls_required_header.honour_from takes networks, with errors at the item") {
    auto r = load_config_text(
        "tls_required_header:\n  honour_from: [10.1.2.3, \"2001:db8::/32\"]\n", "t.yaml", kNoFiles);
    REQUIRE(std::holds_alternative<Config>(r));
    const auto& nets = std::get<Config>(r).tls_required_header.honour_from;
    REQUIRE(nets.size() == 2);
    CHECK(nets[0].str() == "10.1.2.3/32");
    CHECK(nets[1].str() == "2001:db8::/32");
    one_error("tls_required_header:\n  honour_from: [\"10.0.0.0/8\", \"10.1.2.3/8\"]\n",
              "t.yaml:2:31", "bad network '10.1.2.3/8'");
    one_error("tls_required_header:\n  honor_from: []\n", "t.yaml:2:3", "honour_from");
    // Absent: never honoured.
    auto d = load_config_text("hostname: a.example\n", "t.yaml", kNoFiles);
    REQUIRE(std::holds_alternative<Config>(d));
    CHECK(std::get<Config>(d).tls_required_header.honour_from.empty());
}

TEST_CASE("a bad listen or metrics address is an error") {
    one_error("listen:\n  - address: \"0.0.0.0\"\n", "t.yaml:2:14",
              "bad address '0.0.0.0': expected IP:PORT or [IPv6]:PORT");
    one_error("listen:\n  - address: \"::1:25\"\n", "t.yaml:2:14", "bad address");
    one_error("metrics:\n  listen: \"localhost:9125\"\n", "t.yaml:2:11", "bad address");
    one_error("listen:\n  - starttls: true\n", "t.yaml:2:5", "missing 'address'");
}

TEST_CASE("a bad next hop explains both forms") {
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    next_hop: \"[mx.p.nl:25\"\n",
              "t.yaml:4:15", "bad next hop '[mx.p.nl:25'");
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    next_hop: \"mx.p.nl:0\"\n",
              "t.yaml:4:15", "no MX lookup");
}

TEST_CASE("unknown TLS level, on_tls_failure and mode are errors") {
    one_error("defaults:\n  tls: strict\n", "t.yaml:2:8", "unknown TLS level 'strict'");
    one_error("defaults:\n  on_tls_failure: retry\n", "t.yaml:2:19",
              "expected one of bounce, defer, hold, reroute");
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    mode: test\n", "t.yaml:4:11",
              "unknown mode 'test'");
}

TEST_CASE("a missing configuration file is an error naming it") {
    auto r = load_config_file("/nonexistent/chainmail.yaml");
    REQUIRE(std::holds_alternative<std::vector<ConfigError>>(r));
    auto& e = std::get<std::vector<ConfigError>>(r);
    REQUIRE(e.size() == 1);
    // No line and column: there is no text to point into.
    CHECK_THAT(e[0].str(), Catch::StartsWith("/nonexistent/chainmail.yaml: cannot read the "
                                             "configuration file: No such file or directory; "));
    // And the ways forward.
    for (const char* way :
         {"config/chainmail.example.yaml", "-c FILE", "CHAINMAIL_CONFIG", "--default-config"})
        CHECK_THAT(e[0].message, Catch::Contains(way));
}

TEST_CASE("files the configuration names must be readable, when it names them") {
    TempDir dir;
    const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
    const LoadOptions check{true};
    one_error("tls:\n  certificate: " + cert + "\n  private_key: " + key + "\n", "t.yaml:2:16",
              "holds no PEM certificate", check);
    one_error("tls:\n  certificate: " + cert + "\n  private_key: " + dir.path.string() + "/nokey\n",
              "t.yaml:3:16", "tls.private_key: cannot read '" + dir.path.string() + "/nokey'",
              check);
    one_error("tls:\n  ca_file: " + dir.path.string() + "\n", "t.yaml:2:12",
              "is not a regular file", check);
    one_error("auth:\n  users_file: /nonexistent/users\n", "t.yaml:2:15", "cannot read", check);
    one_error("dns:\n  trust_anchor_file: /nonexistent/root.key\n", "t.yaml:2:22", "cannot read",
              check);
    one_error("ndr:\n  templates: " + cert + "\n", "t.yaml:2:14", "is not a directory", check);
    CHECK(loads("ndr:\n  templates: " + dir.path.string() + "\n", check));
    // Not named explicitly: the built-in default path is not checked here.
    CHECK(loads("spool: ./spool\n", check));
    // And nothing is checked when the caller turns file checks off.
    CHECK(loads("auth:\n  users_file: /nonexistent/users\n", kNoFiles));
}

TEST_CASE("the private key must belong to the certificate, as serve demands") {
    TempDir dir;
    const std::string certs = std::string(CHAINMAIL_SOURCE_DIR) + "/tests/lab/lib/certs.sh";
    const std::string d = dir.path.string();
    REQUIRE(std::system(("bash " + certs + " selfsigned " + d + " a a.test >/dev/null && bash " +
                         certs + " selfsigned " + d + " b b.test >/dev/null")
                            .c_str()) == 0);
    const LoadOptions check{true};
    CHECK(loads("tls:\n  certificate: " + d + "/a.crt\n  private_key: " + d + "/a.key\n", check));
    one_error("tls:\n  certificate: " + d + "/a.crt\n  private_key: " + d + "/b.key\n",
              "t.yaml:3:16", "does not belong to the certificate", check);
    one_error("tls:\n  certificate: " + d + "/a.crt\n  private_key: " + d + "/a.crt\n",
              "t.yaml:3:16", "holds no PEM private key", check);
}

TEST_CASE("the spool and the delivery log's directory must be writable") {
    TempDir dir;
    const std::string d = dir.path.string();
    const LoadOptions check{true};
    CHECK(loads("spool: " + d + "/new/spool\nlog:\n  delivery_log: " + d + "/d.jsonl\n", check));
    one_error("spool: " + d + "\nlog:\n  delivery_log: " + d + "/none/d.jsonl\n", "t.yaml:3:17",
              "none' does not exist", check);
    one_error("spool: " + dir.file("f") + "/spool\n", "t.yaml:1:8", "is not a directory", check);
}

TEST_CASE("a YAML syntax error carries the parser's position") {
    one_error("listen:\n  - address: [\"0.0.0.0:25\"\nspool: x\n", "t.yaml:3:1",
              "YAML syntax error");
    one_error("a: b: c\n", "t.yaml:1:5", "YAML syntax error");
    one_error("- a\n- b\n", "t.yaml:1:1", "expected a mapping of settings at the top level");
}

TEST_CASE("a YAML syntax error says in plain words what to look at") {
    const std::string hint =
        "(check the indentation of this line and the one before; quote a value that starts "
        "with [ { * & ! or contains ': ')";
    one_error("a: b: c\n", "t.yaml:1:5", "YAML syntax error: illegal map value " + hint);
    one_error("listen:\n  - address: [\"0.0.0.0:25\"\nspool: x\n", "t.yaml:3:1", hint);
}

TEST_CASE("a tab in the indentation is named at its line, not as a broken structure") {
    const std::string tab = "this line is indented with a tab; YAML needs spaces";
    one_error("log:\n\tlevel: info\n", "t.yaml:2:1", tab);
    one_error("log:\n  level: info\n\tdelivery_log: /tmp/d.jsonl\n", "t.yaml:3:1", tab);
    one_error("log:\n  \tlevel: info\n", "t.yaml:2:3", tab);
    // A tab after the indentation, in a comment line or on a line after the
    // error is not what broke the file: the parser's message stands.
    one_error("log:\n\t# the level\n  level:\tinfo\nspool: a: b\n", "t.yaml:4:9",
              "YAML syntax error");
    one_error("spool: a: b\nlog:\n\tlevel: info\n", "t.yaml:1:9", "YAML syntax error");
}

TEST_CASE("a key repeated in one mapping is an error at the repeat") {
    one_error("spool: a\nlog:\n  level: info\n  level: debug\n", "t.yaml:4:3",
              "log.level: duplicate key");
    one_error("spool: a\nspool: b\n", "t.yaml:2:1", "spool: duplicate key");
}

TEST_CASE("tls: fingerprint needs fingerprints, and each must be well-formed") {
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    tls: fingerprint\n", "t.yaml:4:10",
              "tls: fingerprint needs at least one entry in fingerprints");
    one_error(
        "partners:\n  - name: p\n    domains: [p.nl]\n    tls: fingerprint\n"
        "    fingerprints: [\"sha256:9F:86:...:08\"]\n",
        "t.yaml:5:20", "bad fingerprint 'sha256:9F:86:...:08'");
}

TEST_CASE("one domain entry in two partners is an error; a more specific one is not") {
    one_error(
        "partners:\n  - name: a\n    domains: [x.nl]\n  - name: b\n    domains: [y.nl, X.NL]\n",
        "t.yaml:5:21", "'x.nl' is already in partner 'a' (t.yaml:3:15)");
    one_error("partners:\n  - name: a\n    domains: [.x.nl]\n  - name: b\n    domains: [.x.nl]\n",
              "t.yaml:5:15", "'.x.nl' is already in partner 'a'");
    // The most specific entry wins: a department gets its own rule.
    CHECK(
        loads("partners:\n  - name: a\n    domains: [x.nl, .x.nl]\n"
              "  - name: b\n    domains: [zorg.x.nl, .zorg.x.nl]\n"));
}

TEST_CASE("reroute and fallback_next_hop need each other") {
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    on_tls_failure: reroute\n",
              "t.yaml:4:21", "reroute needs fallback_next_hop");
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    fallback_next_hop: \"[s.nl]:25\"\n",
              "t.yaml:4:24", "only with on_tls_failure: reroute");
    one_error("defaults:\n  on_tls_failure: reroute\n", "t.yaml:2:19", "needs fallback_next_hop");
    CHECK(
        loads("partners:\n  - name: p\n    domains: [p.nl]\n    on_tls_failure: reroute\n"
              "    fallback_next_hop: \"[s.nl]:25\"\n"));
}

TEST_CASE("AUTH needs a users file and a certificate: only after STARTTLS") {
    const std::string tls = "tls:\n  certificate: c.pem\n  private_key: k.pem\n";
    one_error(tls + "listen:\n  - address: \"[::]:587\"\n    auth: true\n", "t.yaml:6:11",
              "needs auth.users_file");
    one_error("auth:\n  users_file: u\nlisten:\n  - address: \"[::]:587\"\n    auth: true\n",
              "t.yaml:5:11", "needs tls.certificate: AUTH is offered only after STARTTLS");
    one_error(tls +
                  "auth:\n  users_file: u\nlisten:\n  - address: \"[::]:587\"\n    auth: true\n"
                  "    starttls: false\n",
              "t.yaml:8:11", "needs starttls: true");
    one_error("listen:\n  - address: \"[::]:25\"\n    require_starttls: true\n", "t.yaml:3:23",
              "needs starttls: true and tls.certificate");
    CHECK(loads(tls +
                "auth:\n  users_file: u\nlisten:\n  - address: \"[::]:587\"\n    auth: true\n"));
}

TEST_CASE("a certificate needs its private key, and the other way round") {
    one_error("tls:\n  certificate: c.pem\n", "t.yaml:2:16", "needs tls.private_key");
    one_error("tls:\n  private_key: k.pem\n", "t.yaml:2:16", "needs tls.certificate");
}

TEST_CASE("enumerated settings reject values outside their list") {
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n    tls_min_version: 1.4\n",
              "t.yaml:4:22", "expected one of 1.0, 1.1, 1.2, 1.3");
    one_error("ndr:\n  languages: [nl, de]\n", "t.yaml:2:19",
              "unknown value 'de': expected one of nl, en");
    one_error("ndr:\n  languages: [en, en]\n", "t.yaml:2:19", "listed twice");
    one_error("ndr:\n  return: body\n", "t.yaml:2:11", "expected one of headers, full");
    one_error("log:\n  level: verbose\n", "t.yaml:2:10", "expected one of trace, debug, info");
    CHECK(loads("log:\n  level: warn\n"));
}

TEST_CASE("numbers out of range are errors") {
    one_error("delivery:\n  port: 0\n", "t.yaml:2:9", "must be between 1 and 65535, found 0");
    one_error("delivery:\n  concurrency_per_destination: 0\n", "t.yaml:2:32", "must be between 1");
    one_error("delivery:\n  initial_concurrency_per_destination: 0\n", "t.yaml:2:40",
              "must be between 1");
    one_error("delivery:\n  concurrency_per_destination: 300\n  max_concurrency: 100\n",
              "t.yaml:2:32", "is larger than delivery.max_concurrency (100)");
    one_error("limits:\n  max_line_length: 512\n", "t.yaml:2:20", "between 1000 and");
}

TEST_CASE("partners need a unique, non-empty name and valid domains") {
    one_error("partners:\n  - name: \"\"\n    domains: [p.nl]\n", "t.yaml:2:11",
              "may not be empty");
    one_error("partners:\n  - domains: [p.nl]\n", "t.yaml:2:5", "missing 'name'");
    one_error("partners:\n  - name: p\n    tls: may\n", "t.yaml:2:5", "missing 'domains'");
    one_error("partners:\n  - name: p\n    domains: [p.nl]\n  - name: p\n    domains: [q.nl]\n",
              "t.yaml:4:11", "partner name 'p' is already used by partners[0]");
    one_error("partners:\n  - name: p\n    domains: [\"user@p.nl\"]\n", "t.yaml:3:15",
              "bad domain 'user@p.nl'");
    one_error("partners:\n  - name: p\n    domains: [p.nl, \"a b.nl\"]\n", "t.yaml:3:21",
              "no spaces");
    auto r = load_config_text("partners:\n  - name: p\n    domains: [P.NL, .Sub.P.nl]\n", "t.yaml",
                              kNoFiles);
    REQUIRE(std::holds_alternative<Config>(r));
    CHECK(std::get<Config>(r).partners[0].domains == std::vector<std::string>{"p.nl", ".sub.p.nl"});
}

TEST_CASE("defaults may not have a name, domains or next_hop") {
    one_error("defaults:\n  tls: may\n  domains: [x.nl]\n", "t.yaml:3:3",
              "not allowed in defaults");
    one_error("defaults:\n  next_hop: \"[x]:25\"\n", "t.yaml:2:3", "not allowed in defaults");
    one_error("defaults:\n  name: d\n", "t.yaml:2:3", "not allowed in defaults");
}

TEST_CASE("a bad name server is an error") {
    one_error("dns:\n  nameservers: [\"127.0.0.1@0\"]\n", "t.yaml:2:17", "expected IP or IP@PORT");
    one_error("dns:\n  nameservers: [ns.example.nl]\n", "t.yaml:2:17", "bad name server");
}

TEST_CASE("every error in a file is reported, in file order") {
    auto errors =
        errors_of("spool: a\nlimits:\n  max_message_size: huge\ndelivery:\n  port: -1\nbogus: 1\n");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].str().rfind("t.yaml:3:21: ", 0) == 0);
    CHECK(errors[1].str().rfind("t.yaml:5:9: ", 0) == 0);
    CHECK(errors[2].str().rfind("t.yaml:6:1: ", 0) == 0);
}

TEST_CASE("tlsrpt: enabled needs organization and contact, and contact is an address") {
    CHECK(loads("tlsrpt:\n  enabled: false\n"));
    CHECK(loads("tlsrpt:\n  enabled: true\n  organization: Gemeente\n  contact: pm@gemeente.nl\n"));
    one_error("tlsrpt:\n  enabled: true\n  contact: pm@gemeente.nl\n", "t.yaml:2:3",
              "needs organization");
    one_error("tlsrpt:\n  enabled: true\n  organization: G\n", "t.yaml:2:3", "needs contact");
    one_error("tlsrpt:\n  contact: postmaster\n", "t.yaml:2:12", "is not a mail address");
    one_error("tlsrpt:\n  enable: true\n", "t.yaml:2:3", "enable");
}
