# Miles: the web app and JSON API (`miles serve`), the worker (`miles worker`) and every other `miles` command.
# Multi-stage: the build stage installs Miles with the pinned versions of constraints.txt (torch as the CPU wheel);
# the runtime stage copies only the virtualenv, runs as a non-root user, and holds the ONNX encoders built at
# image build (`miles model prepare`), so a container starts serving without building or downloading anything.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/miles
ENV PATH=/opt/miles/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# constraints.txt pins torch; the CPU index serves that version without the CUDA libraries (about 2 GB less).
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt .

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 --user-group miles \
    && mkdir -p /data /cache \
    && chown miles:miles /data /cache
COPY --from=build /opt/miles /opt/miles
ENV PATH=/opt/miles/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    MILES_DATA_DIR=/data \
    MILES_CACHE_DIR=/cache \
    MILES_HOST=0.0.0.0 \
    MILES_PORT=8000
USER miles
# Encoders into /cache at build (a throw-away SQLite database is only needed to find the served model).
RUN MILES_DATA_DIR=/tmp/prepare miles db upgrade \
    && MILES_DATA_DIR=/tmp/prepare miles model prepare \
    && rm -rf /tmp/prepare
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"
CMD ["miles", "serve", "--workers", "2"]
