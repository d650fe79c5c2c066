#!/usr/bin/env bash
# Builds Toxiproxy (server and CLI) into .tools/bin from the Go module proxy when missing or
# another version (Go must be installed). Used by the Makefile's `.tools/bin/toxiproxy-server`
# target, which `make test` depends on (the network chaos actions are tested against it).
set -euo pipefail
version=${TOXIPROXY_VERSION:-v2.5.0}
bin="$PWD/.tools/bin"
if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
pkg=github.com/Shopify/toxiproxy/v2
ldflags="-X $pkg.Version=${version#v}"
if [ -x "$bin/toxiproxy-server" ] && [ -x "$bin/toxiproxy-cli" ] \
   && "$bin/toxiproxy-server" -version 2>/dev/null | grep -q "${version#v}"; then
  touch "$bin/toxiproxy-server"  # newer than this script, so make does not ask again
  exit 0
fi
command -v go >/dev/null || { echo "install-toxiproxy: Go is needed to build toxiproxy $version (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$bin"
echo "install-toxiproxy: building toxiproxy $version into $bin" >&2
GOBIN="$bin" GOFLAGS=-buildvcs=false go install -ldflags "$ldflags" \
  "$pkg/cmd/server@${version}" "$pkg/cmd/cli@${version}"
mv -f "$bin/server" "$bin/toxiproxy-server"
mv -f "$bin/cli" "$bin/toxiproxy-cli"
touch "$bin/toxiproxy-server"
"$bin/toxiproxy-server" -version
