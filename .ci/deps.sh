#!/bin/sh
# Installs the Debian 12 packages chainmail needs. Idempotent: installs only
# what is missing. Usage: .ci/deps.sh [build|test]
set -eu
# dpkg-dev is for `cpack -G DEB` (docs/deploy.md section 1): without its
# dpkg-shlibdeps, cpack only warns and the package depends on no libraries.
want_build="cmake g++ make pkg-config libboost-dev libssl-dev libunbound-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libsystemd-dev libcrypt-dev
  zlib1g-dev openssl ca-certificates dns-root-data tzdata dpkg-dev"
want_test="ninja-build clang-format clang libclang-rt-14-dev systemd logrotate postfix swaks nsd ldnsutils unbound python3 python3-aiosmtpd python3-yaml python3-prometheus-client iproute2 procps
  chromium poppler-utils"
want="$want_build"
[ "${1:-build}" = test ] && want="$want_build $want_test"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask questions nor start a system instance on port 25.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
