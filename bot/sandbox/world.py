"""The sandbox's world: the Open Platform emulator with a demo tenant, and the bot wired to it."""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.app import ReferralBot
from bot.config import Settings
from bot.emulator import Employee, Emulator, events

log = logging.getLogger(__name__)

BOT_OPEN_ID = "ou_bot"
BOT_NAME = "referral-bot"
HR_CHAT = "oc_hr_group"
# Balance changes are told in one card per window. Facing Feishu the window is a minute (one
# card a minute at most, however many bonuses land); someone trying the sandbox adds a bonus
# and waits for the card, so here it is a few seconds: short enough to watch it land, long
# enough to gather bonuses added one after another into one card.
NOTICE_WINDOW = timedelta(seconds=5)
# With the long connection the bot dials the emulator itself; the page waits this long for it.
CONNECT_WAIT = 30.0


@dataclass(frozen=True)
class Person:
    """Someone who can type on the page; `admin` is whether the bot lets them act."""

    open_id: str
    name_en: str
    name_zh: str
    admin: bool


@dataclass(frozen=True)
class MenuItem:
    """An item of the bot menu as set up in the developer console: a "push event" item whose
    event key is a command without arguments."""

    event_key: str
    name_en: str
    name_zh: str


# Everyone on the page must be in the directory with an email: `/referral me` finds the
# asker's account through the contact API when the bot's records do not link it yet.
# A withdrawal must be approved by an admin other than the one who asked: Li Na is that second
# admin (any admin but the requester may approve, as REFERRAL_BOT_WITHDRAW_APPROVERS is unset).
PEOPLE = (
    Person("ou_hr_admin", "Li Hua (HR admin)", "李华（HR 管理员）", admin=True),
    Person("ou_colleague", "Wang Wei (not an admin)", "王伟（非管理员）", admin=False),
    Person("ou_hr_approver", "Li Na (HR admin, approver)", "李娜（HR 管理员，审批人）", admin=True),
)

# The demo directory. hire@open.com has no account yet so `/referral register hire@open.com`
# shows a registration; the others have accounts with some bonus already paid in.
DIRECTORY = (
    Employee("ou_hire", "hire@open.com", ("86", "18900001111"), "张三", "Zhang San"),
    Employee("ou_chen", "chen.jing@open.com", ("86", "13800002222"), "陈静", "Chen Jing"),
    Employee("ou_zhao", "zhao.lei@open.com", ("852", "61234567"), "赵磊", "Zhao Lei"),
    Employee("ou_sun", "sun.mei@open.com", None, "孙梅", "Sun Mei"),
    Employee("ou_hr_admin", "li.hua@open.com", ("86", "13700003333"), "李华", "Li Hua"),
    Employee("ou_colleague", "wang.wei@open.com", None, "王伟", "Wang Wei"),
    Employee("ou_hr_approver", "li.na@open.com", ("86", "13700004444"), "李娜", "Li Na"),
)
# The demo app's bot menu (Bot → Bot menu in the console): each item pushes its key.
BOT_MENU = (
    MenuItem("me", "My account", "我的账户"),
    MenuItem("list", "Accounts", "账户列表"),
    MenuItem("digest", "Digest", "摘要"),
    MenuItem("withdrawals", "Withdrawals", "提取记录"),
    MenuItem("help", "Help", "帮助"),
)
SEEDED_ACCOUNTS: tuple[tuple[str, int, dict[str, Decimal], int], ...] = (
    # (open_id, points, cash, status)
    ("ou_chen", 1200, {"CNY": Decimal("3000.00")}, 1),
    ("ou_zhao", 300, {"CNY": Decimal("800.50"), "USD": Decimal("120.00")}, 1),
    ("ou_sun", 0, {}, 2),
)


class World:
    """Starts and stops the emulator and the bot together; owns the bot's temporary database.

    `long_connection`: the bot takes pushes over the long connection (it dials the emulator,
    and serves no webhook paths) instead of Feishu's signed HTTP posts."""

    def __init__(self, *, seed: bool = True, long_connection: bool = False) -> None:
        # A fresh app id per world: the SDK caches tenant tokens per app id, process-wide.
        self.emulator = Emulator(
            app_id=f"cli_sandbox_{secrets.token_hex(6)}",
            app_secret=secrets.token_hex(16),
            bot_open_id=BOT_OPEN_ID,
            bot_name=BOT_NAME,
        )
        self.verification_token = secrets.token_hex(16)
        # Set so every push is encrypted and signed, the way a production tenant is configured.
        self.encrypt_key = secrets.token_hex(16)
        self.long_connection = long_connection
        self.people = PEOPLE
        self.directory = DIRECTORY
        self.hr_chat = HR_CHAT
        self.menu = BOT_MENU
        self._seed = seed
        self._tmp: str | None = None
        self.bot: ReferralBot | None = None

    def start(self) -> None:
        self.emulator.start()
        for employee in self.directory:
            # A copy each: worlds in one process (tests) must not share mutable records.
            self.emulator.add_employee(replace(employee))
        self._tmp = tempfile.mkdtemp(prefix="referral-sandbox-")
        self.bot = ReferralBot(
            self._settings(str(Path(self._tmp) / "bot.db")),
            notice_window=NOTICE_WINDOW,
            referral_window=NOTICE_WINDOW,
        )
        self.bot.start(serve=True, schedule=True)
        if self.long_connection:
            self._wait_for_connection()
        if self._seed:
            self._seed_accounts()

    def stop(self) -> None:
        if self.bot is not None:
            with contextlib.suppress(Exception):
                self.bot.stop()
            self.bot = None
        self.emulator.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _wait_for_connection(self) -> None:
        """Until the bot's long connection is open, so the page's first push finds it."""
        deadline = time.monotonic() + CONNECT_WAIT
        while self.emulator.ws_connections < 1:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"the bot did not open its long connection within {CONNECT_WAIT:.0f} s"
                )
            time.sleep(0.05)

    def _settings(self, db_path: str) -> Settings:
        # Over the long connection pushes are plain JSON on an authenticated socket: no
        # encrypt key or verification token, as a tenant using it configures the bot.
        long = self.long_connection
        return Settings(
            app_id=self.emulator.app_id,
            app_secret=self.emulator.app_secret,
            encrypt_key="" if long else self.encrypt_key,
            verification_token="" if long else self.verification_token,
            transport="long_connection" if long else "webhook",
            domain=self.emulator.url,
            host="127.0.0.1",
            port=0,
            db_path=db_path,
            admins=frozenset(p.open_id for p in self.people if p.admin),
            digest_cron="0 9 * * 1-5",
            digest_tz="Asia/Shanghai",
            digest_chats=(self.hr_chat,),
            # Any admin but the requester approves a withdrawal, as in a tenant that leaves
            # REFERRAL_BOT_WITHDRAW_APPROVERS unset: on the page, Li Hua asks and Li Na approves.
            withdraw_approvers=frozenset(),
            withdraw_self_approve=False,
            # Balance changes and leavers are told in the HR group (the "ask" card's buttons
            # are for its admins); each referrer whose bonus grew also hears it one-to-one.
            notice_chats=(self.hr_chat,),
            notify_referrers=True,
            offboarding="ask",
            # A hired referral's Reward form starts with this.
            default_reward="2000 points",
        )

    def _seed_accounts(self) -> None:
        """Accounts HR registered before today, known to both Feishu and the bot's records."""
        assert self.bot is not None
        emails = {e.open_id: e.email for e in self.directory}
        for open_id, points, cash, status in SEEDED_ACCOUNTS:
            account_id = self.emulator.create_account(open_id)
            self.emulator.add_bonus(account_id, points=points, cash=cash)
            self.emulator.set_status(account_id, status)
            # Read through the bot's own gateway, so its records hold what the API reports.
            try:
                account = self.bot.services.gateway.get_assets(account_id)
            except Exception:
                log.exception("could not seed account %s into the bot's records", account_id)
                continue
            self.bot.services.accounts.remember(
                account, contact=emails.get(open_id), registered_by=PEOPLE[0].open_id
            )

    def push(self, path: str, payload: dict[str, Any]) -> events.DeliveryResult:
        """Deliver an event (`/webhook/event`) or callback (`/webhook/card`) to the bot,
        encrypted and signed as Feishu does for this tenant; over the long connection (`path`
        unused), the ack as the HTTP answer would be: status 200 or 500, the body the card
        answer ({"toast", "card"}) or {}. TimeoutError (an OSError) without an ack."""
        assert self.bot is not None, "the sandbox is not started"
        if not self.long_connection:
            return events.deliver(self.bot.url + path, payload, encrypt_key=self.encrypt_key)
        began = time.monotonic()
        ack = self.emulator.ws_push(payload)
        data = ack.get("data")
        code = ack.get("code")
        return events.DeliveryResult(
            status=code if isinstance(code, int) else 500,
            body=data if isinstance(data, dict) else ({} if code == 200 else ack),
            elapsed=time.monotonic() - began,
        )

    def person(self, open_id: str) -> Person | None:
        return next((p for p in self.people if p.open_id == open_id), None)

    def p2p_chat(self, open_id: str) -> str:
        """The person's one-to-one chat with the bot, as the emulator files it: replies, the
        welcome and cards sent to the person's open_id all land there, as in Feishu."""
        return self.emulator.p2p_chat_id(open_id)
