"""The emulated tenant: directory, referral accounts, messages, tokens. One lock guards it all."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

TWO_PLACES = Decimal("0.01")


def money(value: Decimal | float | int | str) -> Decimal:
    """A cash amount as a two-decimal Decimal."""
    return Decimal(str(value)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def now_ms() -> str:
    return str(int(time.time() * 1000))


USER_ID_TYPES = ("open_id", "union_id", "user_id")


@dataclass
class Employee:
    """A person in the tenant's directory. Two employees may share an email or a mobile.

    Contact answers show `name_zh` as `name`, `name_en` as `en_name`, and the mobile as
    "+<code><number>". A `resigned` person has left (contact.user.deleted_v3)."""

    open_id: str
    email: str | None = None
    mobile: tuple[str, str] | None = None  # (country code without "+", number)
    name_zh: str = ""
    name_en: str = ""
    user_id: str = ""
    union_id: str = ""
    enterprise_email: str | None = None
    department_ids: list[str] = field(default_factory=lambda: ["0"])
    resigned: bool = False

    def __post_init__(self) -> None:
        suffix = self.open_id.removeprefix("ou_")
        if not self.user_id:
            self.user_id = f"u_{suffix}"
        if not self.union_id:
            self.union_id = f"on_{suffix}"
        if self.mobile is not None:
            code, number = self.mobile
            self.mobile = (str(code).lstrip("+"), str(number))

    def ident(self, id_type: str) -> str:
        """The person's id of `id_type` (open_id, union_id or user_id)."""
        if id_type not in USER_ID_TYPES:
            raise ValueError(f"id_type must be one of {USER_ID_TYPES}, not {id_type!r}")
        return str(getattr(self, id_type))

    def has_email(self, address: str) -> bool:
        """Whether `address` is the person's email or enterprise email (any case)."""
        wanted = address.strip().lower()
        return any(e and e.lower() == wanted for e in (self.email, self.enterprise_email))

    @property
    def display_name(self) -> str:
        return self.name_zh or self.name_en or self.open_id


@dataclass
class Account:
    account_id: str
    open_id: str
    status: int = 1
    points: int = 0
    cash: dict[str, Decimal] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "status": self.status,
            "points": self.points,
            "cash": dict(self.cash),
            "open_id": self.open_id,
        }


@dataclass
class Call:
    """One request the emulator received, with its answer."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int
    response: dict[str, Any]
    at: float


@dataclass
class Message:
    """A message the bot (this app) sent."""

    message_id: str
    chat_id: str
    msg_type: str
    content: dict[str, Any]
    reply_to: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0
    receive_id: str = ""
    receive_id_type: str = ""
    uuid: str | None = None
    raw_content: str = ""
    recalled: bool = False


@dataclass
class CardToken:
    token: str
    message_id: str
    issued_at: float
    uses: int = 0


@dataclass
class Withdrawal:
    """A withdrawal Hire recorded: through the withdraw API, or in Feishu's console."""

    external_order_id: str
    account_id: str
    trans_time: str  # ms timestamp as a string, as the withdraw API answers it
    points: int
    cash: dict[str, Decimal]
    source: str = "api"  # "api" (the withdraw endpoint) or "console" (made outside the bot)
    requests: int = 1  # withdraw calls answered with it: the first plus repeats of its order id

    def snapshot(self) -> dict[str, Any]:
        return {
            "external_order_id": self.external_order_id,
            "account_id": self.account_id,
            "trans_time": self.trans_time,
            "points": self.points,
            "cash": dict(self.cash),
            "source": self.source,
            "requests": self.requests,
        }


class State:
    """Everything the emulated tenant knows. Hold `lock` while reading or changing anything."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.employees: list[Employee] = []
            self.accounts: dict[str, Account] = {}
            self.messages: dict[str, Message] = {}
            self.message_order: list[str] = []
            self.user_messages: dict[str, str] = {}  # message_id -> chat_id
            self.p2p_chats: dict[str, str] = {}  # open_id -> the person's chat with the bot
            self.uuids: dict[str, tuple[str, float]] = {}  # uuid -> (message_id, at)
            self.card_tokens: dict[str, CardToken] = {}
            self.withdrawals: dict[str, Withdrawal] = {}
            self.calls: list[Call] = []

    # --- directory and accounts --------------------------------------------------------------
    def add_employee(self, employee: Employee) -> Employee:
        with self.lock:
            self.employees.append(employee)
            return employee

    def employee(self, open_id: str) -> Employee | None:
        with self.lock:
            for emp in self.employees:
                if emp.open_id == open_id:
                    return emp
            return None

    def employee_by(self, id_type: str, value: str) -> Employee | None:
        """The person whose `id_type` id is `value`."""
        with self.lock:
            for emp in self.employees:
                if emp.ident(id_type) == value:
                    return emp
            return None

    def p2p_chat_id(self, open_id: str, chat_id: str | None = None) -> str:
        """The one-to-one chat of the bot with `open_id`, made on first use (or set to
        `chat_id`)."""
        with self.lock:
            if chat_id is not None:
                self.p2p_chats[open_id] = chat_id
            return self.p2p_chats.setdefault(open_id, f"oc_p2p_{open_id}")

    def new_account_id(self) -> str:
        with self.lock:
            while True:
                candidate = "69" + "".join(str(secrets.randbelow(10)) for _ in range(17))
                if candidate not in self.accounts:
                    return candidate

    def account_of(self, open_id: str) -> Account | None:
        with self.lock:
            for acc in self.accounts.values():
                if acc.open_id == open_id:
                    return acc
            return None

    def create_account(self, open_id: str) -> Account:
        with self.lock:
            existing = self.account_of(open_id)
            if existing is not None:
                return existing
            acc = Account(account_id=self.new_account_id(), open_id=open_id)
            self.accounts[acc.account_id] = acc
            return acc

    # --- messages ----------------------------------------------------------------------------
    def add_message(self, msg: Message) -> None:
        with self.lock:
            self.messages[msg.message_id] = msg
            self.message_order.append(msg.message_id)

    def message_list(self) -> list[Message]:
        with self.lock:
            return [copy.deepcopy(self.messages[m]) for m in self.message_order]

    # --- calls -------------------------------------------------------------------------------
    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
