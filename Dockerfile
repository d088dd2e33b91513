# The bot in a container: python:3.11-slim, a non-root user, the state on a volume.
# Build: docker build -t grok-imagine-discord-bot .   (or `docker compose up`, see compose.yaml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.sqlite3 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

RUN groupadd --gid 10001 bot \
    && useradd --create-home --uid 10001 --gid 10001 bot \
    && mkdir /data \
    && chown 10001:10001 /data

WORKDIR /app

# The dependencies in a layer of their own: rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY bot.py ./
COPY config/ config/
COPY core/ core/
COPY cogs/ cogs/

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# Ready: connected to Discord, the store answering, not draining (slim has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HTTP_PORT'] + '/readyz', timeout=4)"]

# SIGTERM drains: running jobs get SHUTDOWN_GRACE_SECONDS, the rest stay in the journal.
STOPSIGNAL SIGTERM
CMD ["python", "bot.py"]
