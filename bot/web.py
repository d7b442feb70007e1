"""The Flask edge: convert HTTP to a verified push and back. Nothing else happens here."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.feishu.pushes import MAX_BODY_BYTES, CallbackReceiver
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

log = logging.getLogger(__name__)


def create_web_app(
    receiver: CallbackReceiver | None,
    health: Callable[[], tuple[bool, dict]],
    metrics: Callable[[], bytes] | None = None,
) -> Flask:
    """The HTTP app; without a receiver (pushes come over the long connection) the webhook
    paths are not there and answer 404."""
    app = Flask("referral-bot")
    # Werkzeug refuses a longer body with 413 before the view reads it.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    if receiver is not None:
        webhook = receiver  # narrowed for the closure

        def receive() -> tuple[Response, int]:
            answer = webhook.receive(request.get_data(cache=False), request.headers)
            return jsonify(answer.body), answer.status

        app.add_url_rule("/webhook/event", "event", receive, methods=["POST"])
        app.add_url_rule("/webhook/card", "card", receive, methods=["POST"])

    if metrics is not None:
        render = metrics  # narrowed for the closure

        @app.get("/metrics")
        def prometheus() -> Response:
            return Response(render(), content_type=METRICS_CONTENT_TYPE)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            ok, details = health()
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return jsonify({"status": "unavailable", "problems": ["health check failed"]}), 503
        return jsonify({"status": "ok" if ok else "unavailable", **details}), 200 if ok else 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": (exc.name or "error").lower()}), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return jsonify({"error": "internal error"}), 500

    return app
