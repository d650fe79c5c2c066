#!/usr/bin/env bash
# Builds the local Kubernetes control plane that the tests start (tests/plugins/kube.py) into
# .tools/bin from the Go module proxy: kube-apiserver, kube-controller-manager and kube-scheduler
# (k8s.io/kubernetes v1.34.2, one go.mod + main.go each under tests/kube/cmd/) and kwok
# (simulated nodes and pod lifecycles). etcd is Debian's etcd-server (scripts/system-deps.sh);
# helm is scripts/install-helm.sh's.
#
# Cached: a binary is rebuilt only when its recipe (go.mod, go.sum, main.go, flags) or the Go
# version changed; the Go module and build caches make a rebuild take seconds after the first
# (about 10 minutes cold on 2 cores for the three Kubernetes binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin="$root/.tools/bin"
recipes="$root/tests/kube/cmd"
kube_version=v1.34.2
kwok_version=${KWOK_VERSION:-v0.7.0}

if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi

# The stamp beside a binary records what it was built from.
stamp_of() { # extra-text recipe-files...
  local extra=$1; shift
  { go env GOVERSION 2>/dev/null || echo nogo; echo "$extra"; cat "$@"; } | sha256sum | cut -c1-64
}
up_to_date() { # name stamp
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.stamp" ] && [ "$(cat "$bin/.$1.stamp")" = "$2" ]
}
need_go() {
  command -v go >/dev/null && return 0
  echo "kube-tools: Go is needed to build the Kubernetes binaries (apt-get install golang-go, or go.dev)" >&2
  exit 1
}

kube_binary() { # kube-apiserver | kube-controller-manager | kube-scheduler
  local name=$1 dir="$recipes/$1" stamp
  # Clients (kubectl, helm, the python client) see a real version, not v0.0.0-master.
  local v=${kube_version#v} pkg=k8s.io/component-base/version
  local ldflags="-X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=${v%%.*}"
  ldflags+=" -X $pkg.gitMinor=$(echo "$v" | cut -d. -f2) -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ldflags="-s -w $ldflags ${ldflags//k8s.io\/component-base\/version/k8s.io/client-go/pkg/version}"
  stamp=$(stamp_of "$ldflags" "$dir/go.mod" "$dir/go.sum" "$dir/main.go")
  up_to_date "$name" "$stamp" && return 0
  need_go
  echo "kube-tools: building $name $kube_version into $bin" >&2
  local t0=$SECONDS
  mkdir -p "$bin"
  (cd "$dir" && GOFLAGS=-buildvcs=false go build -ldflags "$ldflags" -o "$bin/$name.new" .)
  mv "$bin/$name.new" "$bin/$name"
  echo "$stamp" >"$bin/.$name.stamp"
  echo "kube-tools: $name built in $((SECONDS - t0)) s" >&2
}

kwok_binary() {
  local stamp
  stamp=$(stamp_of "kwok $kwok_version")
  up_to_date kwok "$stamp" && return 0
  need_go
  echo "kube-tools: building kwok $kwok_version into $bin" >&2
  local t0=$SECONDS
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
  echo "$stamp" >"$bin/.kwok.stamp"
  echo "kube-tools: kwok built in $((SECONDS - t0)) s" >&2
}

for name in kube-apiserver kube-controller-manager kube-scheduler; do kube_binary "$name"; done
kwok_binary
