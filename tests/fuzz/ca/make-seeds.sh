#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Writes the seed corpus of fuzz-ca-csr with the openssl CLI: requests each profile accepts, in DER
# and PEM, with every key type, and a few near misses (no SAN, forbidden SAN kinds, bad signature).
set -eu
out="$(dirname "$0")/corpus/fuzz-ca-csr"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed.key" 2>/dev/null

req() { # name key subject [addext...]
        name=$1 key=$2 subj=$3
        shift 3
        openssl req -new -key "$tmp/$key.key" -subj "$subj" "$@" -outform DER -out "$out/$name.der"
}

req server-p256 p256 "/CN=www.example.com/O=Example" -addext "subjectAltName=DNS:www.example.com,DNS:*.api.example.com,IP:192.0.2.1,IP:2001:db8::1"
req server-rsa rsa "/CN=rsa.example.com" -addext "subjectAltName=DNS:rsa.example.com"
req server-ed25519 ed "/CN=ed.example.com/C=DE" -addext "subjectAltName=DNS:ed.example.com"
req client p256 "/CN=alice/OU=People/DC=example/DC=com" -addext "subjectAltName=email:alice@example.com,URI:spiffe://example.com/alice"
req sub-ca p256 "/CN=Department CA/O=Example/serialNumber=42"
req extensions p256 "/CN=x.example.com" -addext "subjectAltName=DNS:x.example.com" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign" -addext "extendedKeyUsage=codeSigning"
req dirname-san p256 "/CN=y.example.com" -addext "subjectAltName=dirName:dir_sect" -config /dev/stdin <<'CONF'
[req]
distinguished_name = dn
[dn]
[dir_sect]
CN = inner
CONF
openssl req -new -key "$tmp/p256.key" -subj "/CN=pem.example.com" -addext "subjectAltName=DNS:pem.example.com" -out "$out/server-pem.pem"
# A bad signature: the last byte of the DER flipped.
cp "$out/server-p256.der" "$tmp/bad"
size=$(stat -c %s "$tmp/bad")
printf '\377' | dd of="$tmp/bad" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
cp "$tmp/bad" "$out/bad-signature.der"
