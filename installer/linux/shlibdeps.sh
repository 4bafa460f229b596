#!/bin/sh
# shlibdeps.sh BINARY: print the Debian dependencies of a dynamically linked
# BINARY ("libc6 (>= 2.34), libgl1, ..."), computed by dpkg-shlibdeps from
# the libraries installed on this machine.
set -eu
bin=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debian"
printf 'Source: rayfish\n\nPackage: rayfish\nArchitecture: any\n' > "$tmp/debian/control"
cd "$tmp"
dpkg-shlibdeps -O "$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p'
