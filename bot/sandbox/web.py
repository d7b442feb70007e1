"""The sandbox page and its JSON API: a thin Flask edge over `Chats` and `Tenant`."""

from __future__ import annotations

import io
import logging
import mimetypes
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request, send_file, send_from_directory

from bot.sandbox import mentions
from bot.sandbox.chat import Chats, NotYourChat, UnknownChat, UnknownMenuItem
from bot.sandbox.tenant import AlreadyLeft, BadInput, Tenant
from bot.sandbox.world import BOT_NAME, BOT_OPEN_ID, NOTICE_WINDOW, World

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


def _error(message: str, status: int):
    return jsonify({"error": message}), status


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def create_sandbox_app(world: World, chats: Chats, tenant: Tenant) -> Flask:
    app = Flask(__name__, static_folder=None)
    people = {p.open_id for p in world.people}

    def person_or_error(open_id: object):
        if open_id not in people:
            return _error(f"unknown person {open_id!r}", 400)
        return None

    def names() -> dict[str, dict[str, str]]:
        found = {BOT_OPEN_ID: {"name_en": BOT_NAME, "name_zh": BOT_NAME}}
        for listed in world.directory:
            # The emulator's record: it keeps the names of people who have left, as Feishu does.
            employee = world.emulator.employee(listed.open_id) or listed
            found[employee.open_id] = {
                "name_en": employee.name_en or employee.name_zh or employee.open_id,
                "name_zh": employee.name_zh or employee.name_en or employee.open_id,
            }
        return found

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str):
        response = send_from_directory(STATIC, name)
        # No build step means no hashed names: make the browser check each time.
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/api/config")
    def config():
        return jsonify(
            {
                "bot": {"name": BOT_NAME, "open_id": BOT_OPEN_ID},
                "people": [
                    {
                        "open_id": p.open_id,
                        "name_en": p.name_en,
                        "name_zh": p.name_zh,
                        "admin": p.admin,
                        "p2p_chat": world.p2p_chat(p.open_id),
                    }
                    for p in world.people
                ],
                "menu": [
                    {"event_key": i.event_key, "name_en": i.name_en, "name_zh": i.name_zh}
                    for i in world.menu
                ],
                "group": {"chat_id": world.hr_chat, "name_en": "HR group", "name_zh": "HR 群"},
                # Whom a card's `<at id=…></at>` names: Feishu shows each reader "@Name".
                "names": names(),
                # Balance changes are told in the HR group once per this many seconds.
                "notice_window": NOTICE_WINDOW.total_seconds(),
                "emulator_url": world.emulator.url,
                "bot_url": world.bot.url if world.bot else None,
            }
        )

    @app.get("/api/feed/<chat_id>")
    def feed(chat_id: str):
        try:
            return jsonify({"chat_id": chat_id, "items": chats.feed(chat_id)})
        except UnknownChat:
            return _error(f"unknown chat {chat_id!r}", 404)

    @app.get("/api/files/<file_key>")
    def file_download(file_key: str):
        """A file the bot sent (uploaded through im/v1/files), downloaded as an attachment."""
        try:
            name, data = chats.file(file_key)
        except KeyError:
            return _error(f"unknown file {file_key!r}", 404)
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return send_file(
            io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name
        )

    @app.get("/api/people")
    def directory_people():
        return jsonify(chats.people())

    @app.post("/api/say")
    def say():
        body = _body()
        text = str(body.get("text", "")).strip()
        if not text:
            return _error("type a message first", 400)
        if (refused := person_or_error(body.get("open_id"))) is not None:
            return refused
        chat_id = str(body.get("chat_id"))
        try:
            mentioned = mentions.picked(body.get("mentions"))
            return jsonify(chats.say(chat_id, body["open_id"], text, mentioned))
        except mentions.BadMention as exc:
            return _error(str(exc), 400)
        except UnknownChat:
            return _error(f"unknown chat {chat_id!r}", 404)
        except NotYourChat:
            return _error(f"{chat_id!r} is someone else's chat with the bot", 403)

    @app.post("/api/menu")
    def menu():
        body = _body()
        if (refused := person_or_error(body.get("open_id"))) is not None:
            return refused
        try:
            return jsonify(chats.choose(body["open_id"], str(body.get("event_key"))))
        except UnknownMenuItem as exc:
            return _error(f"the bot menu has no item {exc}", 400)

    @app.post("/api/enter")
    def enter():
        body = _body()
        if (refused := person_or_error(body.get("open_id"))) is not None:
            return refused
        return jsonify(chats.enter(body["open_id"]))

    @app.post("/api/press")
    def press():
        body = _body()
        value = body.get("value")
        if not isinstance(value, dict):
            return _error("value must be the button's callback value object", 400)
        if (refused := person_or_error(body.get("open_id"))) is not None:
            return refused
        try:
            form = body.get("form_value")
            form_value = form if isinstance(form, dict) else None
            return jsonify(
                chats.press(str(body.get("message_id")), value, body["open_id"], form_value)
            )
        except KeyError:
            return _error("no such message from the bot", 404)

    @app.get("/api/tenant")
    def tenant_state():
        return jsonify(
            {
                "directory": tenant.directory(),
                "accounts": tenant.accounts(),
                "calls": tenant.calls(),
                "applications": tenant.applications(),
                "stages": tenant.stages(),
            }
        )

    @app.post("/api/accounts/<account_id>/bonus")
    def bonus(account_id: str):
        body = _body()
        try:
            account = tenant.add_bonus(
                account_id, body.get("points"), body.get("currency"), body.get("amount")
            )
        except BadInput as exc:
            return _error(str(exc), 400)
        except LookupError as exc:
            return _error(str(exc), 404)
        return jsonify(account)

    @app.post("/api/accounts/<account_id>/status")
    def status(account_id: str):
        try:
            return jsonify(tenant.set_enabled(account_id, bool(_body().get("enabled"))))
        except LookupError as exc:
            return _error(str(exc), 404)

    @app.post("/api/directory/<open_id>/leave")
    def leave(open_id: str):
        try:
            return jsonify(tenant.leave(open_id))
        except AlreadyLeft as exc:
            return _error(str(exc), 409)
        except LookupError as exc:
            return _error(str(exc), 404)

    @app.post("/api/referrals")
    def refer():
        body = _body()
        try:
            referral = tenant.refer(body.get("referrer"), body.get("candidate"), body.get("job"))
        except BadInput as exc:
            return _error(str(exc), 400)
        return jsonify(referral)

    @app.post("/api/applications/<application_id>/stage")
    def move(application_id: str):
        try:
            return jsonify(tenant.move(application_id, _body().get("stage_id")))
        except BadInput as exc:
            return _error(str(exc), 400)
        except LookupError as exc:
            return _error(str(exc), 404)

    @app.post("/api/digest")
    def digest():
        try:
            message_id = tenant.post_digest()
        except NotImplementedError as exc:
            return _error(f"The digest is not available yet ({exc})", 501)
        except Exception as exc:  # shown to the person trying the sandbox, never a traceback
            log.exception("posting the digest failed")
            return _error(f"Posting the digest failed: {exc}", 502)
        return jsonify({"message_id": message_id, "chat_id": world.hr_chat})

    return app
