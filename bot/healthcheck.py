"""`python -m bot.healthcheck`: the container's health check. Exit 0 when the bot's /healthz
answers 200, 1 otherwise (with its reasons on stderr). Reads the port the bot listens on from
REFERRAL_BOT_PORT and asks 127.0.0.1, so it works whatever host the bot binds."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("REFERRAL_BOT_PORT", "8000")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:  # 503: the body says why
        try:
            problems = json.loads(exc.read() or b"{}").get("problems", [])
        except ValueError:
            problems = []
        print(f"unhealthy: {'; '.join(problems) or exc.code}", file=sys.stderr)
        return 1
    except (OSError, urllib.error.URLError) as exc:
        print(f"unhealthy: {url} does not answer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
