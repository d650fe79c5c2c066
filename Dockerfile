# syntax=docker/dockerfile:1
# soakmon image: `docker build -t soakmon/soakmon:0.1.0 .`
#   docker run --rm soakmon/soakmon:0.1.0 run --target http://host:8000      (one-shot run)
#   docker run -v $PWD/daemon.yaml:/etc/soakmon/daemon.yaml:ro -p 9109:9109 \
#     soakmon/soakmon:0.1.0 daemon --config /etc/soakmon/daemon.yaml         (the daemon)
# Without Docker: `make image` builds this file with buildah (scripts/build-image.sh), on the
# official Python image or, where no registry is reachable, on a Debian base it makes with
# mmdebstrap (PYTHON_IMAGE below); tests/deploy/test_image.py runs the image it builds.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/soakmon \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The CA bundle of the build's downloads, where a TLS-intercepting proxy stands between the
# build and PyPI (scripts/build-image.sh bind-mounts the host's bundle over the base's and sets
# both). Build stage only: nothing of it reaches the image.
ARG SSL_CERT_FILE
ARG PIP_CERT
# uv in a venv of its own (the Debian base's python3 has venv but no pip of its own).
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9
ENV PATH=/opt/uv/bin:$PATH
WORKDIR /src
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY monitor ./monitor
COPY scenarios ./scenarios
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-editable --refresh-package soakmon --reinstall-package soakmon

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="soakmon" \
      org.opencontainers.image.description="Continuous chaos and soak monitor for HTTP services" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="README.md, docs/kubernetes.md"
RUN groupadd --system --gid 10001 soakmon \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/soakmon --no-create-home soakmon \
 && install -d -o 10001 -g 10001 /var/lib/soakmon /etc/soakmon
COPY --from=build /opt/soakmon /opt/soakmon
ENV PATH=/opt/soakmon/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/soakmon
EXPOSE 9109
# For the daemon (`soakmon daemon`); one-shot runs have no server and need no health check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9109/healthz', timeout=4)"]
# Exec form: soakmon is PID 1 and receives SIGTERM (the daemon then drains within grace_period).
ENTRYPOINT ["soakmon"]
CMD ["--help"]
