# govbot as one container: the web chat, Slack (HTTP) and Teams on $PORT. See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY knowledge ./knowledge
COPY bot ./bot
RUN pip install . && rm -rf /src

# A non-root user owns the knowledge directory (the database files are created 0600 inside it).
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/govbot govbot \
    && mkdir -p /data/govbot \
    && chown -R govbot:govbot /data \
    && chmod 700 /data/govbot
USER govbot
WORKDIR /home/govbot
ENV GOVBOT_DB=/data/govbot \
    GOVBOT_ENV=production \
    PORT=3978

# Built now, so a new container answers at once; `govbot serve` rebuilds only if the sources changed.
RUN govbot refresh
VOLUME ["/data"]

EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '3978'), timeout=3)"
CMD ["govbot", "serve", "--host", "0.0.0.0"]
