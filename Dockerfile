# syntax=docker/dockerfile:1
# One image per deployable package of the workspace, from the one lock file:
#   docker build --build-arg PACKAGE=ingest-flukso -t sen1/ingest-flukso .
# PACKAGE: the distribution of a services/<name> folder (sen1-registry, ingest-enedis,
# ingest-flukso, aggregator, sen1-api); `make images` builds one per service chart
# (scripts/workspace.py images). Emulators (emulators/*) are workspace members, copied so
# the lock resolves, but no service depends on them: no image installs them. The charts run
# each image's console script (sen1-<service>) as a non-root user on a read-only
# root filesystem; tests/contract/test_packages_install_alone.py checks, without
# Docker, that each package installs alone from the lock and imports.

FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /src
ARG PACKAGE
# Dependencies first (a layer that survives source edits), then the sources.
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY emulators emulators
COPY tools tools
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "$PACKAGE" && \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin sen1
COPY --from=build /src/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001
