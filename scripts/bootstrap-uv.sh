#!/usr/bin/env bash
# Installs uv into .tools/ from PyPI when it is not on the PATH.
set -euo pipefail
python=${PYTHON:-python3}
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap-uv: installing python3-venv with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "bootstrap-uv: '$python -m venv' does not work; install python3-venv (sudo apt-get install python3-venv) or uv" >&2
    exit 1
  fi
fi
"$python" -m venv .tools
.tools/bin/pip install --quiet --disable-pip-version-check uv
.tools/bin/uv --version
