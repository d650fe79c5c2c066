#!/usr/bin/env bash
# Builds vegeta (HTTP load generator, MIT) into .tools/bin from the Go module proxy when missing
# or another version (Go must be installed). Used by the Makefile's `.tools/bin/vegeta` target,
# which only `make bench` depends on: it is the compiled reference the benchmark compares
# `soakmon load` with, per CPU-second (k6 stays out: its licence is AGPL).
set -euo pipefail
version=${VEGETA_VERSION:-v12.13.0}
bin="$PWD/.tools/bin"
if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
pkg=github.com/tsenart/vegeta/v12
if [ -x "$bin/vegeta" ] && "$bin/vegeta" -version 2>/dev/null | grep -q "${version#v}"; then
  touch "$bin/vegeta"  # newer than this script, so make does not ask again
  exit 0
fi
command -v go >/dev/null || { echo "install-vegeta: Go is needed to build vegeta $version (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$bin"
echo "install-vegeta: building vegeta $version into $bin" >&2
GOBIN="$bin" GOFLAGS=-buildvcs=false go install -ldflags "-X main.Version=${version}" "$pkg@${version}"
touch "$bin/vegeta"
"$bin/vegeta" -version
