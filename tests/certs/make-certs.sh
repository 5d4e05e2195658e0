#!/bin/sh
# Makes the test certificates with the openssl CLI, into the directory given (default:
# a new temporary one, printed on stdout). Key types from the environment, each ec
# (P-256) or rsa (2048 bits): SERVER_KEY (default ec: the responder signs cheaply) and
# CA_KEY (default rsa: every client checks the CA's signature, cheap with RSA). Why: the
# README's "TLS cost".
#   ca.pem ca.key            a test CA
#   server.pem server.key    signed by the CA, for localhost, 127.0.0.1 and ::1
#   expired.pem              the same key, signed by the CA, expired in 2020
#   wrongname.pem            the same key, signed by the CA, for wrong.example only
#   selfsigned.pem           the same key, self-signed, for localhost
#   otherip.pem              the same key, signed by the CA, for 127.0.0.2 only
#   nodigsig.pem nodigsig.key  an RSA key (OpenSSL signs ECDHE with it anyway), signed by
#                            the CA for localhost and 127.0.0.1, keyUsage keyEncipherment only
set -eu
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
cd "$dir"

key() {  # file, type
  case $2 in
  ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
  rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
  *) echo "make-certs.sh: key type $2 is neither ec nor rsa" >&2 && exit 64 ;;
  esac
}
key ca.key "${CA_KEY:-rsa}"
openssl req -x509 -new -key ca.key -subj "/CN=pingmesh test CA" -days 3650 -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
key server.key "${SERVER_KEY:-ec}"
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null

sign() {  # out, san, extra openssl-ca arguments...
  out=$1 san=$2
  shift 2
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n%s\n' \
    "$san" "${key_usage:-}" > ext.cnf
  mkdir -p db && : > db/index && echo 01 > db/serial
  cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in "${csr:-server.csr}" -out "$out" \
    -extfile ext.cnf -notext "$@" 2>/dev/null
  csr=server.csr
}
sign server.pem "DNS:localhost,IP:127.0.0.1,IP:::1" -days 825
sign expired.pem "DNS:localhost,IP:127.0.0.1,IP:::1" -startdate 20200101000000Z -enddate 20200201000000Z
sign wrongname.pem "DNS:wrong.example" -days 825
sign otherip.pem "IP:127.0.0.2" -days 825
key nodigsig.key rsa
openssl req -new -key nodigsig.key -subj "/CN=localhost" -out nodigsig.csr 2>/dev/null
key_usage="keyUsage=critical,keyEncipherment" csr=nodigsig.csr
sign nodigsig.pem "DNS:localhost,IP:127.0.0.1,IP:::1" -days 825
key_usage=
openssl req -x509 -new -key server.key -subj "/CN=localhost" -days 825 -out selfsigned.pem \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null
rm -rf db ca.cnf ext.cnf server.csr nodigsig.csr
echo "$dir"
