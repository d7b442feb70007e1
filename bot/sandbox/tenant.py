"""The emulated tenant as the page shows and changes it: directory, accounts, Open API log,
and the digest posted as the schedule would. What changes in Feishu that Feishu tells apps
about (a bonus landing in an enabled account, someone leaving) is pushed to the bot as Feishu
pushes it."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.accounts import Cash
from bot.records.store import utcnow
from bot.sandbox.world import World
from cards.money import cash_text, format_points

log = logging.getLogger(__name__)

# The page shows the newest calls; older ones stay in the emulator.
CALLS_SHOWN = 100
BODY_CHARS = 1500


class BadInput(ValueError):
    """What the page sent cannot be applied; the message says why."""


class AlreadyLeft(Exception):
    """The person left before: Feishu tells an app once."""


class Tenant:
    def __init__(self, world: World) -> None:
        self._world = world
        self._leaving = threading.Lock()
        self._digesting = threading.Lock()
        # The candidate and job of each referral made on the page (the emulator keeps ids).
        self._talents: dict[str, tuple[str, str]] = {}

    def directory(self) -> list[dict[str, Any]]:
        people = {p.open_id for p in self._world.people if p.admin}
        rows = []
        for listed in self._world.directory:
            # The emulator's record: it knows who has left since.
            e = self._world.emulator.employee(listed.open_id) or listed
            rows.append(
                {
                    "open_id": e.open_id,
                    "name_en": e.name_en,
                    "name_zh": e.name_zh,
                    "email": e.email,
                    "mobile": f"+{e.mobile[0]} {e.mobile[1]}" if e.mobile else None,
                    "admin": e.open_id in people,
                    "left": e.resigned,
                }
            )
        return rows

    def accounts(self) -> list[dict[str, Any]]:
        names = {e.open_id: (e.name_en, e.name_zh) for e in self._world.directory}
        rows = []
        for acc in self._world.emulator.accounts():
            name_en, name_zh = names.get(acc["open_id"], (acc["open_id"], acc["open_id"]))
            rows.append(
                {
                    "account_id": acc["account_id"],
                    "open_id": acc["open_id"],
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "enabled": acc["status"] == 1,
                    "points": acc["points"],
                    "cash": {cur: f"{amount:.2f}" for cur, amount in sorted(acc["cash"].items())},
                    # As the cards write them (cards/money.py), so the panel reads the same.
                    "points_shown": format_points(acc["points"]),
                    "cash_shown": cash_text(
                        Cash(cur, amount) for cur, amount in sorted(acc["cash"].items())
                    ).i18n(),
                }
            )
        return rows

    def calls(self) -> list[dict[str, Any]]:
        """The Open API calls the bot made, newest first."""
        calls = self._world.emulator.calls[-CALLS_SHOWN:]
        return [
            {
                "operation": c.operation,
                "method": c.method,
                "path": c.path,
                "status": c.status,
                "code": c.response.get("code"),
                "msg": c.response.get("msg"),
                "body": _clip(c.body),
                "at": c.at,
            }
            for c in reversed(calls)
        ]

    def add_bonus(self, account_id: str, points: object, currency: object, amount: object) -> dict:
        try:
            points_n = int(points or 0)
        except (TypeError, ValueError):
            raise BadInput("points must be a whole number") from None
        cash: dict[str, Decimal] = {}
        if amount not in (None, "", 0, "0"):
            try:
                value = Decimal(str(amount))
            except InvalidOperation:
                raise BadInput("amount must be a number like 100.50") from None
            if not value.is_finite():
                raise BadInput("amount must be a number like 100.50")
            code = str(currency or "CNY").strip().upper()
            if not (len(code) == 3 and code.isalpha()):
                raise BadInput("currency must be a 3-letter code like CNY")
            cash[code] = value
        if not points_n and not cash:
            raise BadInput("give points or a cash amount")
        try:
            added = self._world.emulator.add_bonus(account_id, points=points_n, cash=cash)
        except KeyError:
            raise LookupError(f"no referral account {account_id}") from None
        account = self._account(account_id)
        # The bonus lands as in Feishu: Hire tells the app the balance now. Feishu sends
        # balance events for enabled accounts only, so a disabled one's bonus stays unsaid.
        pushed = None
        if added["status"] == 1:
            event = self._world.emulator.assets_update_event(
                account_id, token=self._world.verification_token
            )
            pushed = self._push(event)
        return {**account, "event": pushed}

    def leave(self, open_id: str) -> dict[str, Any]:
        """The person leaves the company: the directory shows them resigned and Feishu pushes
        contact.user.deleted_v3 to the bot."""
        if open_id not in {e.open_id for e in self._world.directory}:
            raise LookupError(f"nobody in the directory has the open_id {open_id!r}")
        emulator = self._world.emulator
        with self._leaving:  # a double click makes one leaver, told once
            employee = emulator.employee(open_id)
            if employee is None:
                raise LookupError(f"nobody in the directory has the open_id {open_id!r}")
            if employee.resigned:
                raise AlreadyLeft(f"{employee.display_name} has already left")
            event = emulator.user_deleted_event(open_id, token=self._world.verification_token)
        pushed = self._push(event)
        row = next(row for row in self.directory() if row["open_id"] == open_id)
        return {**row, "event": pushed}

    # --- referral progress ----------------------------------------------------------------
    def stages(self) -> list[dict[str, Any]]:
        """The stages of the tenant's default hiring process, in order."""
        emulator = self._world.emulator
        emulator.stage_id(1)  # the default process, made on first use
        process = emulator.job_processes()[0]
        return [
            {"id": s["id"], "type": s["type"], "en": s["en_name"], "zh": s["zh_name"]}
            for s in process["stage_list"]
        ]

    def applications(self) -> list[dict[str, Any]]:
        """The referred applications, newest first, each with its stage as Hire shows it."""
        emulator = self._world.emulator
        stages = {s["id"]: s for s in self.stages()}
        names = {e.open_id: (e.name_en, e.name_zh) for e in self._world.directory}
        rows = []
        for app in reversed(emulator.applications()):
            if not app["referrer_open_id"]:
                continue
            stage = stages.get(app["stage_id"], {"en": "?", "zh": "?", "type": 0})
            en, zh = names.get(app["referrer_open_id"], (app["referrer_open_id"],) * 2)
            rows.append(
                {
                    "application_id": app["application_id"],
                    "candidate": self._talents.get(app["application_id"], ("", ""))[0],
                    "job": self._talents.get(app["application_id"], ("", ""))[1],
                    "referrer": app["referrer_open_id"],
                    "referrer_en": en,
                    "referrer_zh": zh,
                    "stage_id": app["stage_id"],
                    "stage_en": stage["en"],
                    "stage_zh": stage["zh"],
                    "active": app["active_status"] == 1,
                }
            )
        return rows

    def refer(self, referrer: object, candidate: object, job: object) -> dict[str, Any]:
        """Someone refers a candidate for a job: the application, at its first stage."""
        if referrer not in {e.open_id for e in self._world.directory}:
            raise BadInput("choose the referrer from the directory")
        candidate_name, job_name = str(candidate or "").strip(), str(job or "").strip()
        if not candidate_name or not job_name:
            raise BadInput("give the candidate's name and the job")
        application_id = self._world.emulator.add_referred_application(
            str(referrer), talent_name=candidate_name[:50], job_name=job_name[:50]
        )
        self._talents[application_id] = (candidate_name[:50], job_name[:50])
        return next(a for a in self.applications() if a["application_id"] == application_id)

    def move(self, application_id: str, stage_id: object) -> dict[str, Any]:
        """HR moves the candidate to a stage in Hire: Feishu pushes the stage change."""
        emulator = self._world.emulator
        try:
            event = emulator.move_application(
                application_id, str(stage_id), token=self._world.verification_token
            )
        except (KeyError, LookupError):
            raise LookupError(f"no application {application_id}") from None
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        pushed = self._push(event) if event is not None else None
        row = next(a for a in self.applications() if a["application_id"] == application_id)
        return {**row, "event": pushed}

    def _push(self, event: dict[str, Any]) -> dict[str, Any]:
        """Push an event to the bot as Feishu does; what became of it, for the page to show."""
        header = event["header"]
        told = {"type": header["event_type"], "event_id": header["event_id"]}
        try:
            result = self._world.push("/webhook/event", event)
        except OSError as exc:  # the bot is not answering: the change in Feishu stands
            log.warning("could not push %s to the bot: %s", told["type"], exc)
            return {**told, "status": None, "error": str(exc)}
        error = None if result.status == 200 else result.body
        return {**told, "status": result.status, "error": error}

    def _account(self, account_id: str) -> dict[str, Any]:
        return next(a for a in self.accounts() if a["account_id"] == account_id)

    def set_enabled(self, account_id: str, enabled: bool) -> dict:
        try:
            self._world.emulator.set_status(account_id, 1 if enabled else 2)
        except KeyError:
            raise LookupError(f"no referral account {account_id}") from None
        return self._account(account_id)

    def post_digest(self) -> str:
        """Post the digest into the HR group now, as the schedule would at this moment: each
        press is the next scheduled digest (a fire time of its own), so the second one on
        carries the chart of the totals. Returns the message's id."""
        bot = self._world.bot
        assert bot is not None, "the sandbox is not started"
        chat_id = self._world.hr_chat
        with self._digesting:
            # Whole minutes, as a cron fires, each press a fire time of its own. The card and its
            # chart point name the moment the digest read the accounts, not this fire time.
            fire = utcnow().replace(second=0, microsecond=0)
            last = bot.digest.records.last_scheduled_for()
            if last is not None and fire <= last:
                fire = last + timedelta(minutes=1)
            bot.digest.run_scheduled(fire)
            post = next(
                (p for p in bot.digest.records.posts(fire) if p["chat_id"] == chat_id), None
            )
        if post is None or not post["message_id"]:
            reason = post["error"] if post else "the digest of this moment is under way elsewhere"
            raise RuntimeError(reason or "not posted")
        return post["message_id"]


def _clip(body: dict[str, Any] | None) -> str | None:
    if body is None:
        return None
    text = json.dumps(body, ensure_ascii=False, default=str)
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS] + " …"
