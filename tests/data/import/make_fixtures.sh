#!/usr/bin/env bash
# make_fixtures.sh DIR: writes the import fixture set into DIR with the
# `openssl` command line (OpenSSL 3): every quirk `rotor import` must read
# correctly or refuse precisely (issue 5). Used by tests/integration/
# cert_scan_test.cc and tests/e2e/import_test.sh; deterministic in structure,
# random in keys and serials.
set -euo pipefail
mkdir -p "$1"
D=$(cd "$1" && pwd)
mkdir -p "$D/src" "$D/in" "$D/ca"
cd "$D/src"
o() { openssl "$@" 2>/dev/null; }

# A root, an intermediate and leaves of several key types.
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
  -subj "/CN=Fixture Root/O=Acme" -days 3650 -addext basicConstraints=critical,CA:TRUE
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Fixture Intermediate/O=Acme"
printf 'basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > ca.ext
o x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 0x07277f52 -days 1825 -extfile ca.ext \
  -out inter.pem
o req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=leaf.example/O=Acme" \
  -addext "subjectAltName=DNS:leaf.example,DNS:www.leaf.example"
printf 'subjectAltName=DNS:leaf.example,DNS:www.leaf.example\nauthorityKeyIdentifier=keyid\n' > leaf.ext
# Serial 255: DER 00 ff, a leading zero byte.
o x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial 255 -days 365 -extfile leaf.ext -out leaf.pem
o x509 -in leaf.pem -outform DER -out leaf.der

# `openssl ca` for exact validity dates.
cat > ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
CNF
: > index.txt
echo 1000 > serial
sign() {  # sign NAME START END: a certificate of leaf.csr's key from the intermediate
  o ca -batch -config ca.cnf -cert inter.pem -keyfile inter.key -startdate "$2" -enddate "$3" -in leaf.csr \
    -out "$1" -notext
}
sign far.pem 20240101000000Z 99991231235959Z    # GeneralizedTime 9999
sign y2049.pem 20240101000000Z 491231235959Z    # last UTCTime year
sign y2050.pem 20240101000000Z 20500101000000Z  # first GeneralizedTime year
sign expired.pem 200101000000Z 210101000000Z
sign future.pem 20400101000000Z 20410101000000Z

# Quirky subjects and serials.
o x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial -5 -days 30 -out negative.pem
o req -new -key leaf.key -out utf8.csr -utf8 -subj "/CN=Zürich Straße/O=日本の会社"
o x509 -req -in utf8.csr -CA inter.pem -CAkey inter.key -set_serial 7 -days 30 -out utf8.pem
# A PrintableString holding '_' and '&': OpenSSL will not write one, so a
# PrintableString "R-D.Team" is patched to "R_D&Team" (same length) in the DER.
printf '[req]\ndistinguished_name=dn\nstring_mask=default\nprompt=no\n[dn]\nCN=R-D.Team\nO=Acme\n' > printable.cnf
o req -new -key leaf.key -config printable.cnf -out printable.csr
o x509 -req -in printable.csr -CA inter.pem -CAkey inter.key -set_serial 9 -days 30 -outform DER -out printable.der
LC_ALL=C sed 's/R-D\.Team/R_D\&Team/' printable.der > printable_patched.der
cmp -s printable.der printable_patched.der && { echo "make_fixtures: subject patch did not apply" >&2; exit 1; }

# Keys: PKCS#8 (RSA above), PKCS#1, SEC1, Ed25519, encrypted PKCS#8 and legacy encrypted PEM.
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other_rsa.pkcs8
o pkey -in other_rsa.pkcs8 -traditional -out pkcs1.key
o ecparam -name prime256v1 -genkey -noout -out sec1.key
o genpkey -algorithm ed25519 -out ed25519.key
o pkey -in leaf.key -aes256 -passout pass:secret -out encrypted_pkcs8.key
o pkey -in pkcs1.key -traditional -aes256 -passout pass:secret -out encrypted_legacy.key
o req -new -key ed25519.key -subj "/CN=ed.example" -out ed.csr

cd "$D/in"
S=../src
cp $S/leaf.pem leaf.pem
cp $S/leaf.der leaf.der
o pkey -in $S/leaf.key -outform DER -out leaf_key.der
cat $S/leaf.pem $S/inter.pem $S/root.pem > chain_in_order.pem
cat $S/inter.pem $S/leaf.pem > leaf_after_intermediate.pem
cat $S/leaf.pem $S/leaf.key > cert_and_key.pem
cat $S/leaf.pem $S/other_rsa.pkcs8 > mismatched_key.pem
sed 's/$/\r/' $S/leaf.pem > crlf.pem
{ printf '\xef\xbb\xbf'; cat $S/leaf.pem; } > bom.pem
{
  printf 'Subject: leaf.example, exported by some tool\nIssuer: whoever\n\n'
  sed 's/^/    /; s/$/   /' $S/leaf.pem
  printf '\n\n   \n'
  sed 's/^/\t/' $S/inter.pem
  printf 'trailing notes, no final newline'
} > messy.pem
cp $S/negative.pem negative_serial.pem
cp $S/utf8.pem utf8_subject.pem
cp $S/printable_patched.der printable_underscore.der
# Serial 255 is DER 02 02 00 ff; 00 7f in its place is a non-minimal INTEGER
# (a superfluous leading zero byte), which BoringSSL and OpenSSL 3 refuse.
LC_ALL=C sed 's/\x02\x02\x00\xff/\x02\x02\x00\x7f/' $S/leaf.der > serial_leading_zero.der
cmp -s $S/leaf.der serial_leading_zero.der && { echo "make_fixtures: serial patch did not apply" >&2; exit 1; }
cp $S/far.pem notafter_9999.pem
cp $S/y2049.pem notafter_2049.pem
cp $S/y2050.pem notafter_2050.pem
cp $S/expired.pem expired.pem
cp $S/future.pem not_yet_valid.pem
cp $S/pkcs1.key pkcs1.key
cp $S/sec1.key sec1.key
cp $S/ed25519.key pkcs8_ed25519.key
cp $S/encrypted_pkcs8.key encrypted_pkcs8.key
cp $S/encrypted_legacy.key encrypted_legacy.key
cp $S/ed.csr request.csr
# A notAfter of month 13 (UTCTime "491331235959Z"): refused, never a wrong date.
o x509 -in $S/y2049.pem -outform DER | LC_ALL=C sed 's/491231235959Z/491331235959Z/' > bad_month.der
o x509 -in $S/y2049.pem -outform DER | cmp -s - bad_month.der && { echo "make_fixtures: date patch did not apply" >&2; exit 1; }
# Truncated base64: the last base64 line of the middle certificate of a bundle
# cut to a length that is not a multiple of 4; the other two still import.
{
  cat $S/root.pem
  awk 'BEGIN{n=0} /^-----END/{print substr(prev,1,length(prev)-3)} {if (NR>1 && prev !~ /^-----END/ && $0 !~ /^-----END/) print prev; prev=$0; if ($0 ~ /^-----END/) print $0}' $S/inter.pem
  cat $S/leaf.pem
} > truncated_in_bundle.pem
# A PEM block whose END line is missing (the file was cut).
head -n 10 $S/leaf.pem > cut_short.pem
: > empty.pem
head -c 4096 /dev/urandom > random.bin
printf 'hello, this is not a certificate\n' > notes.txt
