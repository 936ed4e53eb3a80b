#!/usr/bin/env bash
# Builds libbitgpt.so and installs it with its header and pkg-config file under a prefix.
#
#   tools/install-libbitgpt.sh [PREFIX]        (default PREFIX: /usr/local)
#
# Afterwards, with PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig (not needed for /usr/local or /usr):
#   cc app.c $(pkg-config --cflags --libs bitgpt) -o app
# The library links the Swift runtime statically, so at run time it needs only libc, libm,
# libstdc++ and libgcc_s (see README, "C API").
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/BitGPT/Model/RandomModel.swift)"
soname="libbitgpt.so.1"   # bump the number on every ABI break (see bitgpt.h, BG_API_VERSION)

swift build -c release --product bitgpt --scratch-path .build-capi -Xswiftc -static-stdlib \
    -Xlinker -soname -Xlinker "$soname"
lib=".build-capi/release/libbitgpt.so"

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$lib" "$prefix/lib/$soname"
strip --strip-debug "$prefix/lib/$soname"   # valgrind 3.19 cannot read clang's DWARF 5
ln -sf "$soname" "$prefix/lib/libbitgpt.so"
install -m 0644 Sources/CBitGPT/include/bitgpt.h "$prefix/include/bitgpt.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" tools/bitgpt.pc.in > "$prefix/lib/pkgconfig/bitgpt.pc"
echo "installed libbitgpt $version into $prefix"
