#!/bin/bash
# certs.sh: a throw-away test PKI made with openssl at test time, and the
# digests DANE and pinning need. Every command prints the paths it wrote.
#
#   certs.sh ca DIR                      DIR/ca.crt, DIR/ca.key (a root CA)
#   certs.sh intermediate DIR            DIR/int.crt, DIR/int.key (signed by the root);
#                                        later server certs are then issued by it
#   certs.sh server DIR NAME DNS...      DIR/NAME.crt (leaf, SANs DNS...), DIR/NAME.key,
#                                        DIR/NAME.chain.pem (leaf + intermediate if any)
#   certs.sh selfsigned DIR NAME DNS...  the same, self-signed
#   certs.sh expired DIR NAME DNS...     self-signed, valid only in January 2020
#   certs.sh expired-server DIR NAME DNS...  issued by DIR's CA, valid only in January 2020
#   certs.sh tlsa311 CERT                hex SHA-256 of the SubjectPublicKeyInfo (TLSA 3 1 1)
#   certs.sh tlsa201 CERT                hex SHA-256 of the certificate (TLSA 2 0 1, 3 0 1)
#   certs.sh fp-cert CERT | fp-pubkey CERT   "sha256:AB:CD:..." as the config takes it
set -euo pipefail

die() { echo "certs.sh: $*" >&2; exit 2; }

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

san_of() {
  local san="" n
  for n in "$@"; do san="${san:+$san,}DNS:$n"; done
  echo "$san"
}

issuer_of() {  # prints "crt key" of the issuing CA in DIR
  if [ -f "$1/int.crt" ]; then echo "$1/int.crt $1/int.key"; else echo "$1/ca.crt $1/ca.key"; fi
}

cmd_ca() {
  local dir=$1
  mkdir -p "$dir"
  newkey "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -days 30 -subj "/O=chainmail test/CN=Test Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt" 2>/dev/null
  echo "$dir/ca.crt"; echo "$dir/ca.key"
}

cmd_intermediate() {
  local dir=$1
  [ -f "$dir/ca.crt" ] || die "no CA in $dir"
  newkey "$dir/int.key"
  openssl req -new -key "$dir/int.key" -subj "/O=chainmail test/CN=Test Intermediate CA" \
    -out "$dir/int.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' \
    >"$dir/int.ext"
  openssl x509 -req -in "$dir/int.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile "$dir/int.ext" -out "$dir/int.crt" 2>/dev/null
  rm -f "$dir/int.csr" "$dir/int.ext"
  echo "$dir/int.crt"; echo "$dir/int.key"
}

cmd_server() {
  local dir=$1 name=$2; shift 2
  [ $# -gt 0 ] || die "server needs at least one DNS name"
  local crt key
  read -r crt key < <(issuer_of "$dir")
  [ -f "$crt" ] || die "no CA in $dir"
  newkey "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/CN=$1" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    "$(san_of "$@")" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$crt" -CAkey "$key" -CAcreateserial -days 30 \
    -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  cat "$dir/$name.crt" >"$dir/$name.chain.pem"
  [ -f "$dir/int.crt" ] && cat "$dir/int.crt" >>"$dir/$name.chain.pem"
  echo "$dir/$name.crt"; echo "$dir/$name.key"; echo "$dir/$name.chain.pem"
}

cmd_selfsigned() {
  local dir=$1 name=$2; shift 2
  [ $# -gt 0 ] || die "selfsigned needs at least one DNS name"
  mkdir -p "$dir"
  newkey "$dir/$name.key"
  openssl req -x509 -new -key "$dir/$name.key" -days 30 -subj "/CN=$1" \
    -addext "subjectAltName=$(san_of "$@")" -out "$dir/$name.crt" 2>/dev/null
  cp "$dir/$name.crt" "$dir/$name.chain.pem"
  echo "$dir/$name.crt"; echo "$dir/$name.key"; echo "$dir/$name.chain.pem"
}

# Signs DIR/NAME.crt for the DNS names, valid only in January 2020 (openssl
# 3.0 "x509" cannot back-date, "ca" can). SIGNER: "self" or "CRT KEY" of the CA.
dated_cert() {
  local dir=$1 name=$2 signer=$3; shift 3
  mkdir -p "$dir"
  local work="$dir/.ca-$name"
  mkdir -p "$work"
  : >"$work/index.txt"
  echo 01 >"$work/serial"
  cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
default_md = sha256
policy = anything
copy_extensions = copy
[anything]
commonName = supplied
EOF
  newkey "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/CN=$1" \
    -addext "subjectAltName=$(san_of "$@")" -addext "extendedKeyUsage=serverAuth" \
    -out "$work/req.csr" 2>/dev/null
  local how=(-selfsign -keyfile "$dir/$name.key")
  if [ "$signer" != self ]; then
    local crt key
    read -r crt key <<<"$signer"
    how=(-cert "$crt" -keyfile "$key")
  fi
  openssl ca -batch -config "$work/ca.cnf" "${how[@]}" \
    -startdate 20200101000000Z -enddate 20200201000000Z -in "$work/req.csr" \
    -out "$dir/$name.crt" -notext 2>/dev/null
  rm -rf "$work"
}

cmd_expired() {
  local dir=$1 name=$2; shift 2
  [ $# -gt 0 ] || die "expired needs at least one DNS name"
  dated_cert "$dir" "$name" self "$@"
  cp "$dir/$name.crt" "$dir/$name.chain.pem"
  echo "$dir/$name.crt"; echo "$dir/$name.key"; echo "$dir/$name.chain.pem"
}

cmd_expired_server() {  # a CA-issued certificate whose only fault is its date
  local dir=$1 name=$2; shift 2
  [ $# -gt 0 ] || die "expired-server needs at least one DNS name"
  local issuer
  issuer=$(issuer_of "$dir")
  [ -f "${issuer%% *}" ] || die "no CA in $dir"
  dated_cert "$dir" "$name" "$issuer" "$@"
  cat "$dir/$name.crt" >"$dir/$name.chain.pem"
  [ -f "$dir/int.crt" ] && cat "$dir/int.crt" >>"$dir/$name.chain.pem"
  echo "$dir/$name.crt"; echo "$dir/$name.key"; echo "$dir/$name.chain.pem"
}

hex_sha256() { openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'; echo; }
colon_upper() { tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//'; }

case "${1:-}" in
  ca) cmd_ca "$2" ;;
  intermediate) cmd_intermediate "$2" ;;
  server) shift; cmd_server "$@" ;;
  selfsigned) shift; cmd_selfsigned "$@" ;;
  expired) shift; cmd_expired "$@" ;;
  expired-server) shift; cmd_expired_server "$@" ;;
  tlsa311) openssl x509 -in "$2" -noout -pubkey | openssl pkey -pubin -outform DER | hex_sha256 ;;
  tlsa201) openssl x509 -in "$2" -outform DER | hex_sha256 ;;
  fp-cert) echo "sha256:$(openssl x509 -in "$2" -outform DER | hex_sha256 | colon_upper)" ;;
  fp-pubkey)
    echo "sha256:$(openssl x509 -in "$2" -noout -pubkey | openssl pkey -pubin -outform DER |
      hex_sha256 | colon_upper)" ;;
  *) die "usage: certs.sh ca|intermediate|server|selfsigned|expired|tlsa311|tlsa201|fp-cert|fp-pubkey ..." ;;
esac
