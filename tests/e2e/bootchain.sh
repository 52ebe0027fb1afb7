#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Boot-chain facts checked by tools nobody here wrote. engine/format/pe reads
# boot programs (machine, Authenticode SHA-256, signers) and efivars/siglist.c
# reads db/dbx; this test compares them with:
#   - osslsigncode verify ("Calculated message digest", the signer's Subject
#     and Issuer) and sbverify --list, on the Secure Boot stand-ins that
#     make-images --secure-boot signs with Debian's snakeoil test key, and on
#     Debian shim-signed's shimx64.efi, which Microsoft signed ("Microsoft
#     Corporation UEFI CA 2011" and "Microsoft UEFI CA 2023"; read from the
#     installed package at test time, never committed);
#   - openssl's SHA-256 of the snakeoil certificate's DER, which must be the
#     db entry of OVMF_VARS_4M.snakeoil.fd; OVMF_VARS_4M.ms.fd's db must hold
#     Microsoft's two 2011 CAs; SecureBoot on for both, off for OVMF_VARS_4M.fd.
#
# Usage: bootchain.sh MBPE MKSEED MAKE_IMAGES
set -u
MBPE=${1:?mbpe}
SHIM=/usr/lib/shim/shimx64.efi.signed
for t in osslsigncode sbverify sbsign openssl; do
        command -v $t >/dev/null || { echo "FAIL: bootchain needs $t (scripts/deps.sh installs osslsigncode sbsigntool openssl)"; exit 1; }
done
[ -r "$SHIM" ] || { echo "FAIL: bootchain needs $SHIM (Debian: shim-signed; scripts/deps.sh installs it)"; exit 1; }
# shellcheck source=image-lib.sh
. "$(dirname "$0")/image-lib.sh" "$MBPE" "$2" "$3"
set +e   # the verifiers exit non-zero on chains they cannot complete; every result is checked

val() { sed -n "s/^$2: //p" "$1" | head -1; }
# the digest osslsigncode computes ("Calculated message digest : HEX")
ossl_digest() { sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' "$1" | head -1 | tr A-F a-f; }
ossl_signed() { sed -n 's/^Current message digest *: *\([0-9A-F]*\).*/\1/p' "$1" | head -1 | tr A-F a-f; }
ossl_signer() { awk '/Signer #0:/ { s = 1 } s && $1 == "'"$2"'" { sub(/^[^:]*: ?/, ""); print; exit }' "$1"; }

# ---- the Secure Boot stand-ins ----
"$MAKE_IMAGES" --secure-boot "$T" "$MKSEED" >/dev/null || { echo "FAIL: make-images --secure-boot"; exit 1; }
for f in /EFI/Microsoft/Boot/bootmgfw.efi /EFI/Boot/bootx64.efi; do
        b=$(basename "$f")
        mcopy -n -i "$T/disk0.img@@1048576" "::$f" "$T/$b"
        "$MBPE" "$T/$b" >"$T/$b.mbpe" 2>&1
        osslsigncode verify -in "$T/$b" >"$T/$b.ossl" 2>&1
        sbverify --list "$T/$b" >"$T/$b.sbv" 2>&1
        dig=$(val "$T/$b.mbpe" authenticode_sha256)
        echo "    $f: mbstate $dig"
        echo "    $f: osslsigncode $(ossl_digest "$T/$b.ossl")"
        check "$b: machine x64" test "$(val "$T/$b.mbpe" machine)" = x64
        check "$b: the Authenticode digest equals osslsigncode's" test -n "$dig" -a "$dig" = "$(ossl_digest "$T/$b.ossl")"
        check "$b: the signed digest equals osslsigncode's \"Current message digest\"" \
                test "$(val "$T/$b.mbpe" "signature 1 signed_digest")" = "$(ossl_signed "$T/$b.ossl")"
        check "$b: signer subject equals osslsigncode's" \
                test "$(val "$T/$b.mbpe" "signature 1 signer subject")" = "$(ossl_signer "$T/$b.ossl" Subject:)"
        check "$b: signer issuer equals osslsigncode's" \
                test "$(val "$T/$b.mbpe" "signature 1 signer issuer")" = "$(ossl_signer "$T/$b.ossl" Issuer)"
        check "$b: signer is the snakeoil key" grep -q "signer subject: /C=US/ST=Colorado/L=Fort Collins/O=SnakeOil" "$T/$b.mbpe"
        check "$b: sbverify verifies it with the snakeoil certificate" \
                sbverify --cert /usr/share/ovmf/PkKek-1-snakeoil.pem "$T/$b"
done
check "bootmgfw.efi and bootx64.efi stand-ins differ (they print different markers)" \
        test "$(val "$T/bootmgfw.efi.mbpe" authenticode_sha256)" != "$(val "$T/bootx64.efi.mbpe" authenticode_sha256)"

# An unsigned program has the digest its signed copy has: the signature, the
# checksum and the certificate table entry are outside the digest.
rm -rf "$T/u"; mkdir "$T/u"
UNSIGNED=1 "$MAKE_IMAGES" --secure-boot "$T/u" "$MKSEED" >/dev/null
mcopy -n -i "$T/u/disk0.img@@1048576" ::/EFI/Microsoft/Boot/bootmgfw.efi "$T/unsigned.efi"
"$MBPE" "$T/unsigned.efi" >"$T/unsigned.mbpe"
check "the unsigned stand-in has no signature" test "$(val "$T/unsigned.mbpe" signatures)" = 0
openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$T/k.pem" 2>/dev/null
sbsign --key "$T/k.pem" --cert /usr/share/ovmf/PkKek-1-snakeoil.pem --output "$T/resigned.efi" "$T/unsigned.efi" 2>/dev/null
osslsigncode verify -in "$T/resigned.efi" >"$T/resigned.ossl" 2>&1
check "the unsigned stand-in's digest equals osslsigncode's on its signed copy" \
        test "$(val "$T/unsigned.mbpe" authenticode_sha256)" = "$(ossl_digest "$T/resigned.ossl")"

# ---- a file Microsoft signed: shim-signed's shimx64.efi ----
"$MBPE" "$SHIM" >"$T/shim.mbpe" 2>&1
sbverify --list "$SHIM" >"$T/shim.sbv" 2>&1
dig=$(val "$T/shim.mbpe" authenticode_sha256)
check "shimx64.efi: parsed, x64" test "$(val "$T/shim.mbpe" machine)" = x64
check "shimx64.efi: two signatures, as sbverify --list shows" \
        test "$(val "$T/shim.mbpe" signatures)" = "$(grep -c '^signature [0-9]' "$T/shim.sbv")"
check "shimx64.efi: signature 1's signer is issued by Microsoft Corporation UEFI CA 2011" \
        grep -q "^signature 1 signer issuer: /C=US/ST=Washington/L=Redmond/O=Microsoft Corporation/CN=Microsoft Corporation UEFI CA 2011$" "$T/shim.mbpe"
check "shimx64.efi: signature 2's signer is issued by Microsoft UEFI CA 2023" \
        grep -q "^signature 2 signer issuer: /C=US/O=Microsoft Corporation/CN=Microsoft UEFI CA 2023$" "$T/shim.mbpe"
# every certificate subject/issuer pair sbverify lists, in order
sed -n 's/^ - subject: //p; s/^   issuer:  //p' "$T/shim.sbv" >"$T/shim.sbv.names"
sed -n 's/^signature [0-9]* certificate \(subject\|issuer\): //p' "$T/shim.mbpe" >"$T/shim.mbpe.names"
check "shimx64.efi: every certificate's subject and issuer equal sbverify --list's" \
        cmp -s "$T/shim.sbv.names" "$T/shim.mbpe.names"
check "shimx64.efi: both signatures signed the digest mbstate computes" \
        test "$(grep -c "^signature [12] signed_digest: $dig\$" "$T/shim.mbpe")" = 2
# osslsigncode 2.9 reads only one attribute certificate entry; a copy whose
# table holds only the first (the digest does not cover the table) is the
# same file to it.
python3 - "$SHIM" "$T/shim1.efi" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
opt = struct.unpack_from('<I', d, 0x3c)[0] + 24
ent = opt + (144 if struct.unpack_from('<H', d, opt)[0] == 0x20b else 128)
off, size = struct.unpack_from('<II', d, ent)
first = (struct.unpack_from('<I', d, off)[0] + 7) & ~7
struct.pack_into('<II', d, ent, off, first)
open(sys.argv[2], 'wb').write(d[:off + first])
PY
osslsigncode verify -in "$T/shim1.efi" >"$T/shim.ossl" 2>&1
echo "    shimx64.efi: mbstate $dig"
echo "    shimx64.efi: osslsigncode $(ossl_digest "$T/shim.ossl")"
check "shimx64.efi: the Authenticode digest equals osslsigncode's" test -n "$dig" -a "$dig" = "$(ossl_digest "$T/shim.ossl")"
check "shimx64.efi: signer subject equals osslsigncode's" \
        test "$(val "$T/shim.mbpe" "signature 1 signer subject")" = "$(ossl_signer "$T/shim.ossl" Subject:)"

# ---- variable stores: SecureBoot, db, dbx ----
"$MBPE" --vars /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd >"$T/snakeoil.vars"
"$MBPE" --vars /usr/share/OVMF/OVMF_VARS_4M.ms.fd >"$T/ms.vars"
"$MBPE" --vars /usr/share/OVMF/OVMF_VARS_4M.fd >"$T/plain.vars"
pem=$(openssl x509 -in /usr/share/ovmf/PkKek-1-snakeoil.pem -outform DER | sha256sum | cut -c1-64)
check "snakeoil store: Secure Boot on" grep -q "^secure_boot: on" "$T/snakeoil.vars"
check "snakeoil store: db holds the snakeoil certificate (openssl: $pem)" grep -q "^db x509 $pem subject=/C=US/ST=Colorado/L=Fort Collins/O=SnakeOil$" "$T/snakeoil.vars"
check "ms store: Secure Boot on, db holds Microsoft Windows Production PCA 2011" \
        grep -q "^db x509 [0-9a-f]* subject=.*CN=Microsoft Windows Production PCA 2011$" "$T/ms.vars"
check "ms store: db holds Microsoft Corporation UEFI CA 2011" \
        grep -q "^db x509 [0-9a-f]* subject=.*CN=Microsoft Corporation UEFI CA 2011$" "$T/ms.vars"
check "plain store: Secure Boot off" grep -q "^secure_boot: off" "$T/plain.vars"
cp /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd "$T/dbx.fd"
"$MBPE" --dbx-add "$T/dbx.fd" "$(val "$T/bootmgfw.efi.mbpe" authenticode_sha256)"
check "a digest appended to dbx reads back" \
        grep -q "^dbx sha256 $(val "$T/bootmgfw.efi.mbpe" authenticode_sha256)$" <("$MBPE" --vars "$T/dbx.fd")
check "... after the store's existing dbx entry" test "$("$MBPE" --vars "$T/dbx.fd" | grep -c '^dbx sha256')" = 2
refuse "a file that is not a PE image is refused, naming it" "$T/bootmgfw.efi.mbpe: not a valid PE/COFF image: no MZ header" \
        "$MBPE" "$T/bootmgfw.efi.mbpe"
finish
