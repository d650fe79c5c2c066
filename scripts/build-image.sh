#!/usr/bin/env bash
# Builds the project's Dockerfile with buildah (no Docker engine; chroot isolation, so it runs as
# root on a plain machine or CI) and prints the built image's reference on stdout.
#
#   scripts/build-image.sh            # `make image`
#   PYTHON_IMAGE=python:3.11-slim-bookworm scripts/build-image.sh   # a base of your choice
#
# The base (the Dockerfile's PYTHON_IMAGE): $PYTHON_IMAGE when set; else the official
# python:3.11-slim-bookworm when it is in local storage or can be pulled; else a base made from
# Debian bookworm packages with mmdebstrap (python3 3.11, the interpreter the lock is made for),
# imported into buildah's storage as localhost/soakmon-base:bookworm-<recipe hash> and kept
# there (made again only when its recipe below changes; ~100 s).
#
# Cached by content: the image is tagged IMAGE:src-<hash> of the base's ID, this script, the Dockerfile,
# .dockerignore and everything the build context holds (pyproject.toml, uv.lock, README.md,
# monitor/, scenarios/); when that tag exists nothing is built. Otherwise `buildah bud --layers`
# reuses the dependency layer while uv.lock is unchanged. Also tagged IMAGE:VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/soakmon/soakmon}
official=docker.io/library/python:3.11-slim-bookworm
log() { echo "build-image: $*" >&2; }

command -v buildah >/dev/null || {
  log "buildah is missing: apt-get install buildah mmdebstrap (scripts/system-deps.sh test does)"
  exit 1
}
version=$(grep -m1 '^version = ' pyproject.toml | sed 's/^version = "\(.*\)"/\1/')
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null; }

# -- the Debian base -----------------------------------------------------------------------------
suite=bookworm
mirror=http://deb.debian.org/debian
# What the official python:3.11-slim-bookworm image has that the project needs: libstdc++6
# (manylinux wheels such as google-re2 link it; apt brings it there), ca-certificates, netbase,
# tzdata; passwd for the Dockerfile's useradd; python3-venv for the build stage's uv.
packages=passwd,python3,python3-venv,libstdc++6,ca-certificates,netbase,tzdata
debian_base() {
  local recipe tag tmp ctr t0=$SECONDS
  recipe=$(declare -f debian_base; echo "$suite $mirror $packages")
  tag="localhost/soakmon-base:$suite-$(sha256sum <<<"$recipe" | cut -c1-12)"
  if image_id "$tag" >/dev/null; then echo "$tag"; return; fi
  command -v mmdebstrap >/dev/null || {
    log "no registry base and no mmdebstrap to make one: apt-get install mmdebstrap"; exit 1; }
  log "making the base $tag from Debian $suite packages with mmdebstrap"
  tmp=$(mktemp -d)
  # The merged-/usr hook instead of the usrmerge package (which would pull in perl);
  # no documentation but the copyright files, no translations.
  mmdebstrap --quiet --variant=essential --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$suite" "$tmp/rootfs.tar" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb ${mirror}-security $suite-security main" >&2
  ctr=$(buildah from scratch)
  buildah add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null
  rm -rf "$tmp"
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd '["python3"]' \
    --label "org.opencontainers.image.description=Debian $suite essential + $packages (mmdebstrap)" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$tag" >/dev/null
  log "base $tag made in $((SECONDS - t0)) s"
  echo "$tag"
}

if [ -n "${PYTHON_IMAGE:-}" ]; then
  base=$PYTHON_IMAGE
elif image_id "$official" >/dev/null || timeout 120 buildah pull --quiet "$official" >/dev/null 2>&1; then
  base=$official
else
  base=$(debian_base)
fi
base_id=$(image_id "$base") || { log "base image $base not found"; exit 1; }

# -- the content hash -----------------------------------------------------------------------------
hash=$(
  {
    echo "base $base_id version $version"
    find scripts/build-image.sh Dockerfile .dockerignore pyproject.toml uv.lock README.md monitor scenarios \
      -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
ref="$image:src-$hash"
if image_id "$ref" >/dev/null; then
  log "$ref is up to date (built from this content)"
  echo "$ref"
  exit 0
fi

# The host's CA bundle for the build's downloads from PyPI (it holds the CA of a TLS-intercepting
# proxy where there is one; the base's bundle would not).
ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
ca_args=()
if [ -f "$ca" ]; then
  in_image=/etc/ssl/certs/ca-certificates.crt
  ca_args=(--volume "$(readlink -f "$ca"):$in_image:ro"
           --build-arg "SSL_CERT_FILE=$in_image" --build-arg "PIP_CERT=$in_image")
fi

log "building $ref on $base"
t0=$SECONDS
# Docker's image format: OCI's has no HEALTHCHECK.
buildah bud --isolation chroot --layers --quiet --format docker "${ca_args[@]}" \
  --build-arg "PYTHON_IMAGE=$base" --build-arg "VERSION=$version" \
  --label "io.soakmon.source-hash=$hash" \
  -t "$ref" -t "$image:$version" . >&2
size=$(buildah images --format '{{.Size}}' "$ref" | sed -n 1p)  # not head: SIGPIPE + pipefail
log "built $ref in $((SECONDS - t0)) s, $size"
# Keep the three newest content tags (other work trees may use them): older ones only fill the disk.
buildah images --json | python3 -c '
import json, sys
prefix = sys.argv[1] + ":src-"
tags = [(i["createdatraw"], n) for i in json.load(sys.stdin) for n in i["names"] or ()
        if n.startswith(prefix)]
print("\n".join(n for _, n in sorted(tags, reverse=True)[3:]))
' "$image" | while read -r old; do
  [ -n "$old" ] && [ "$old" != "$ref" ] && buildah rmi "$old" >/dev/null 2>&1 || true
done
echo "$ref"
