#!/usr/bin/env bash
# Fetches the real CustomResourceDefinitions that the chart's objects and the chaos work are
# checked against, through the Go module proxy (both projects are Go modules; the module zip is
# verified against the Go checksum database), into .tools/crds/:
#
#   .tools/crds/prometheus-operator/monitoring.coreos.com_*.yaml   (ServiceMonitor, PrometheusRule, ...)
#       github.com/prometheus-operator/prometheus-operator, example/prometheus-operator-crd/
#   .tools/crds/chaos-mesh/crd.yaml                                (all chaos-mesh.org kinds, 23 CRDs)
#       github.com/chaos-mesh/chaos-mesh, manifests/crd.yaml
#
# Chaos Mesh tags its releases v2.x without a /v2 module path, so the proxy serves only
# pseudo-versions of it; the pinned one is the newest it served (`go list -m -json
# github.com/chaos-mesh/chaos-mesh@latest`). Cached: nothing is fetched when .tools/crds/.stamp
# names the same versions (the Makefile's rule re-runs this script only when the script changes).
set -euo pipefail
cd "$(dirname "$0")/.."
po_version=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
cm_version=${CHAOS_MESH_VERSION:-v0.9.1-0.20260902003049-47411975a8cb}
out="$PWD/.tools/crds"
stamp="$out/.stamp"
want="prometheus-operator $po_version chaos-mesh $cm_version"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -f "$out/prometheus-operator/monitoring.coreos.com_servicemonitors.yaml" ] \
   && [ -f "$out/chaos-mesh/crd.yaml" ]; then
  touch "$stamp"  # newer than this script, so make does not ask again
  exit 0
fi
if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
command -v go >/dev/null || { echo "fetch-crds: Go is needed to fetch the CRDs through the Go module proxy (apt-get install golang-go)" >&2; exit 1; }

module_dir() { # module@version -> the extracted module directory in the Go module cache
  # Outside any go.mod (GOFLAGS=-mod=... in the caller's environment would not apply there).
  (cd / && GOFLAGS= go mod download -json "$1") | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}

echo "fetch-crds: prometheus-operator $po_version and chaos-mesh $cm_version into $out" >&2
po_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$po_version")
cm_dir=$(module_dir "github.com/chaos-mesh/chaos-mesh@$cm_version")
mkdir -p "$PWD/.tools"
tmp=$(mktemp -d "$PWD/.tools/crds.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/prometheus-operator" "$tmp/chaos-mesh"
cp "$po_dir"/example/prometheus-operator-crd/*.yaml "$tmp/prometheus-operator/"
cp "$cm_dir/manifests/crd.yaml" "$tmp/chaos-mesh/crd.yaml"
chmod -R u+w "$tmp"  # the module cache is read-only
for f in servicemonitors prometheusrules; do
  [ -s "$tmp/prometheus-operator/monitoring.coreos.com_$f.yaml" ] \
    || { echo "fetch-crds: $f CRD missing from prometheus-operator $po_version" >&2; exit 1; }
done
echo "$want" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
ls "$out"/prometheus-operator "$out"/chaos-mesh >&2
