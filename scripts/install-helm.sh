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
# The link flags of helm's own Makefile: its version, and the Kubernetes version that
# `helm template` and `helm lint` assume without a cluster (client-go v0.37 -> 1.37).
pkg=helm.sh/helm/v3
ldflags="-X $pkg/internal/version.version=${version}"
for p in pkg/chartutil pkg/lint/rules; do
  ldflags+=" -X $pkg/$p.k8sVersionMajor=1 -X $pkg/$p.k8sVersionMinor=37"
done
# A binary built with other flags (an older copy of this script) is rebuilt, not kept.
stamp="$bin/.helm.stamp"
if [ -x "$bin/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version $ldflags" ] \
   && "$bin/helm" version --short 2>/dev/null | grep -q "^${version}"; then
  touch "$bin/helm"  # newer than this script, so make does not ask again
  exit 0
fi
command -v go >/dev/null || { echo "install-helm: Go is needed to build helm $version (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$bin"
echo "install-helm: building helm $version into $bin (a few minutes the first time)" >&2
GOBIN="$bin" GOFLAGS=-buildvcs=false go install -ldflags "$ldflags" "$pkg/cmd/helm@${version}"
printf '%s\n' "$version $ldflags" > "$stamp"
touch "$bin/helm"
"$bin/helm" version --short
