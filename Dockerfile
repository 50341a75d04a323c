# svcbot in a container: a slim, two-stage image.
#   docker build -t svcbot .
#   docker run -d --name svcbot -p 8787:8787 -v svcbot-state:/var/lib/svcbot \
#       -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN svcbot
# svcbot runs as PID 1 and that is fine: it handles SIGTERM (stop every service in reverse dependency
# order, exit 0) and SIGHUP (reload), and it reaps every child that is re-parented to it
# (`waitpid(-1)` on SIGCHLD), so no tini / --init is needed.

# ---- builder: the project's wheel and every dependency, installed into a venv at /opt/venv ----------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only when they change.
# Binary wheels only: every dependency ships them (psycopg[binary] bundles libpq), so neither stage
# needs a compiler or -dev packages, and a dependency that would need one fails the build loudly.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --only-binary=:all: -r /tmp/requirements.txt

# Then the project itself, as a wheel (package data such as the Alembic scripts included).
COPY manager ./manager
COPY chatops ./chatops
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/svcbot-*.whl

# ---- final: the same base image plus the venv; no compilers, no build files, no pip cache ------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="svcbot" \
      org.opencontainers.image.description="A service manager with a Slack ChatOps front end and a built-in feedback loop" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}" \
    SVCBOT_CONFIG=/etc/svcbot/svcbot.yml

# A fixed uid/gid, so files on the state volume keep their owner across rebuilds and hosts.
RUN groupadd --system --gid 10001 svcbot \
    && useradd --system --uid 10001 --gid svcbot --home-dir /var/lib/svcbot --no-create-home \
        --shell /usr/sbin/nologin svcbot \
    && install -d -o svcbot -g svcbot -m 0750 /var/lib/svcbot

COPY --from=builder /opt/venv /opt/venv
COPY contrib/svcbot.container.yml /etc/svcbot/svcbot.yml

USER svcbot:svcbot
WORKDIR /var/lib/svcbot

# Socket, state file, logs, the spool and the default SQLite database: keep them across containers.
VOLUME ["/var/lib/svcbot"]
EXPOSE 8787

# svcbot stops its services in order on SIGTERM; give it time: `docker stop --time 60` (or
# stop_grace_period in compose) when services have long stop timeouts.
STOPSIGNAL SIGTERM

# No curl in a slim image: Python's urllib. /healthz answers 503 (urlopen raises, exit 1) when the
# database or the Slack connection is down.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]

ENTRYPOINT ["svcbot"]
CMD ["run", "--config", "/etc/svcbot/svcbot.yml"]
