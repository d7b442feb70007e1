# referral-bot: `docker build -t referral-bot .` then run it with the settings in the
# environment and a volume for the database (see compose.yaml and the README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    REFERRAL_BOT_HOST=0.0.0.0 \
    REFERRAL_BOT_PORT=8000 \
    REFERRAL_BOT_DB=/data/referral-bot.db

WORKDIR /app
# The package alone (no tests, no venv): what `pip install .` needs.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY cards ./cards
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin referral \
    && mkdir -p /data && chown referral /data

USER referral
VOLUME ["/data"]
EXPOSE 8000

# /healthz answers 503 with its reasons when the bot cannot serve (database, workers, schedule,
# the long connection); python is in the image, curl is not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

# exec form: the bot is PID 1 and gets SIGTERM itself, so `docker stop` stops it cleanly
# (work in hand finishes within 5 s, the rest stays queued in the volume's database).
ENTRYPOINT ["referral-bot"]
CMD ["serve"]
