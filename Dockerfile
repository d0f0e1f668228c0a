# A slim image running `watcher run`. Config and data are volumes; the process is not root.
#   docker build -t watcher .
#   docker run -v $PWD/watcher.toml:/config/watcher.toml:ro -v watcher-data:/data \
#     -e WATCHER_NGO_TEAM_URL=... watcher
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WATCHER_CONFIG=/config/watcher.toml

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin watcher \
 && mkdir -p /data /config && chown watcher /data && chmod 700 /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY sources ./sources
RUN pip install ".[postgres]"

USER watcher
WORKDIR /data
VOLUME ["/data", "/config"]
# In the config, use database = "sqlite:////data/watcher.db" and data_dir = "/data/evidence".
ENTRYPOINT ["watcher"]
CMD ["run"]
