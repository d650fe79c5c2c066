#!/usr/bin/env bash
# Builds helm into .tools/bin from the Go module proxy when it is missing or another version
# (Go must be installed). Used by the Makefile's `.tools/bin/helm` target, which `make test` and
# `make lint` depend on; other targets that need helm can depend on $(HELM) too.
set -euo pipefail
version=${HELM_VERSION:-v3.22.0}
bin="$PWD/.tools/bin"
if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
if [ -x "$bin/helm" ]; then
  # `helm version` prints only v3.22 for a `go install` build: ask the binary's build info.
  if ! command -v go >/dev/null || go version -m "$bin/helm" | grep -q "helm.sh/helm/v3[[:space:]]*${version}"; then
    exit 0
  fi
fi
command -v go >/dev/null || { echo "install-helm: Go is needed to build helm $version (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$bin"
echo "install-helm: building helm $version into $bin (a few minutes the first time)" >&2
GOBIN="$bin" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@${version}"
"$bin/helm" version --short
