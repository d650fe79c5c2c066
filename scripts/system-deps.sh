#!/usr/bin/env bash
# Makes sure the system programs that the tests (or benchmarks) talk to are installed.
# As root with apt-get (CI, a fresh container) the missing Debian packages are installed;
# otherwise the script names what is missing and how to install it.
set -euo pipefail
what=${1:-test}
missing=()
# the container image: built with buildah (chroot isolation, no daemon) on a Debian base made
# by mmdebstrap when no registry base is reachable (scripts/build-image.sh; `make image` asks
# for these alone)
command -v buildah >/dev/null || missing+=(buildah)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ "$what" != image ]; then
  have_pg() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null; }
  have_pg || missing+=(postgresql)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v prometheus-pushgateway >/dev/null || missing+=(prometheus-pushgateway)
  # the local Kubernetes control plane (tests/plugins/kube.py; the rest is built by kube-tools.sh)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v kubectl >/dev/null || missing+=(kubectl)
  command -v openssl >/dev/null || missing+=(openssl)
  # the HTTP/2 front of the reference target in the single-packet tests (tests/plugins/nginx_h2.py)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
fi
if [ "$what" = stats ]; then
  # the h2c/TLS HTTP/2 front of the reference target in `make stats STATS_ARGS="--stats-h2 ..."`
  # (tests/plugins/haproxy_h2.py)
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
fi
if [ "$what" = bench ]; then
  command -v wrk >/dev/null || missing+=(wrk)
  command -v taskset >/dev/null || missing+=(util-linux)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "system-deps: installing ${missing[*]} with apt-get" >&2
  apt-get update -qq
  # Debian's packages start no service in a container without systemd; the tests start their own.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
