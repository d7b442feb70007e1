"""The Emulator facade: what tests and the sandbox drive."""

from __future__ import annotations

import copy
import logging
import threading
from decimal import Decimal
from types import TracebackType
from typing import Any

from . import auth, events, im
from .context import Context
from .knobs import Knobs
from .ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter
from .server import HttpServer, Pipeline
from .state import Call, CardToken, Employee, Message, State, money

log = logging.getLogger("bot.emulator")


class CardTokens:
    """View of the delayed-update callback tokens: `issue_card_token(message_id)`, `tokens[t]`."""

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu

    def issue_card_token(self, message_id: str) -> str:
        return self._emu.issue_card_token(message_id)

    issue = issue_card_token

    def get(self, token: str) -> CardToken | None:
        with self._emu._state.lock:
            entry = self._emu._state.card_tokens.get(token)
            return copy.deepcopy(entry) if entry else None

    def __getitem__(self, token: str) -> CardToken:
        entry = self.get(token)
        if entry is None:
            raise KeyError(token)
        return entry

    def __contains__(self, token: object) -> bool:
        with self._emu._state.lock:
            return token in self._emu._state.card_tokens

    def __len__(self) -> int:
        with self._emu._state.lock:
            return len(self._emu._state.card_tokens)


class Emulator:
    """A local stand-in for the Feishu Open Platform, served over real HTTP."""

    def __init__(
        self,
        app_id: str = "cli_x",
        app_secret: str = "s3cret",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_rate_limits: bool = True,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        tenant_key: str = "tenant_emulated",
        bot_open_id: str = "ou_bot",
        bot_name: str = "referral-bot",
    ) -> None:
        self.host = host
        self.port = port
        self.rate_limits: dict[str, tuple[int, float]] = dict(DEFAULT_LIMITS)
        self.rate_limits.update(rate_limits or {})
        self._state = State()
        self._knobs = Knobs()
        self._ctx = Context(
            app_id=app_id,
            app_secret=app_secret,
            state=self._state,
            limiter=SlidingWindowLimiter(),
            limits=self.rate_limits,
            enforce_rate_limits=enforce_rate_limits,
            tenant_key=tenant_key,
            bot_open_id=bot_open_id,
            bot_name=bot_name,
        )
        self._server: HttpServer | None = None
        # orders outage(), end_outage(), stop() and the timer that ends a "refuse" outage
        self._outage_lock = threading.RLock()
        self._outage_timer: threading.Timer | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def app_id(self) -> str:
        return self._ctx.app_id

    @property
    def app_secret(self) -> str:
        return self._ctx.app_secret

    @property
    def tenant_key(self) -> str:
        return self._ctx.tenant_key

    @property
    def enforce_rate_limits(self) -> bool:
        return self._ctx.enforce_rate_limits

    @enforce_rate_limits.setter
    def enforce_rate_limits(self, value: bool) -> None:
        self._ctx.enforce_rate_limits = value

    def start(self) -> Emulator:
        if self._server is None:
            self._server = HttpServer(Pipeline(self._ctx, self._knobs), self.host, self.port)
            self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; this also ends any outage."""
        with self._outage_lock:
            self._cancel_outage_timer()
            self._knobs.end_outage()
            if self._server is not None:
                self._server.stop()
                self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.address
        return f"http://{host}:{port}"

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- directory and accounts --------------------------------------------------------------
    def add_employee(self, employee: Employee) -> Employee:
        return self._state.add_employee(employee)

    def create_account(self, open_id: str) -> str:
        """Register an account directly (test setup); the employee need not be in the directory."""
        return self._state.create_account(open_id).account_id

    def _account(self, account_id: str) -> Any:
        acc = self._state.accounts.get(account_id)
        if acc is None:
            raise KeyError(f"no referral account {account_id}")
        return acc

    def account(self, account_id: str) -> dict[str, Any]:
        with self._state.lock:
            return self._account(account_id).snapshot()

    def accounts(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [acc.snapshot() for acc in self._state.accounts.values()]

    def add_bonus(
        self,
        account_id: str,
        points: int = 0,
        cash: dict[str, Decimal | float | str] | None = None,
    ) -> dict[str, Any]:
        with self._state.lock:
            acc = self._account(account_id)
            acc.points += int(points)
            for cur, amount in (cash or {}).items():
                acc.cash[cur] = money(acc.cash.get(cur, Decimal(0)) + money(amount))
            return acc.snapshot()

    def set_status(self, account_id: str, status: int) -> None:
        if status not in (1, 2):
            raise ValueError("status is 1 (enabled) or 2 (disabled)")
        with self._state.lock:
            self._account(account_id).status = status

    def withdrawals(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [
                {
                    "external_order_id": w.external_order_id,
                    "account_id": w.account_id,
                    "trans_time": w.trans_time,
                    "points": w.points,
                    "cash": dict(w.cash),
                }
                for w in self._state.withdrawals.values()
            ]

    # --- recorded traffic --------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self._state.lock:
            return list(self._state.calls)

    def calls_for(self, operation: str) -> list[Call]:
        with self._state.lock:
            return [c for c in self._state.calls if c.operation == operation]

    def clear_calls(self) -> None:
        with self._state.lock:
            self._state.calls.clear()

    @property
    def messages(self) -> list[Message]:
        return self._state.message_list()

    def message(self, message_id: str) -> Message:
        with self._state.lock:
            msg = self._state.messages.get(message_id)
            if msg is None:
                raise KeyError(f"no message {message_id} sent by the bot")
            return copy.deepcopy(msg)

    def latest_card(self, message_id: str) -> dict[str, Any]:
        msg = self.message(message_id)
        return msg.updates[-1] if msg.updates else msg.content

    def note_user_message(self, message_id: str, chat_id: str) -> None:
        """Tell the emulator a user's message exists in a chat, so replies land in that chat."""
        with self._state.lock:
            self._state.user_messages[message_id] = chat_id

    # --- knobs -------------------------------------------------------------------------------
    def set_latency(self, operation: str, seconds: float) -> None:
        self._knobs.set_latency(operation, seconds)

    def fail_next(
        self, operation: str, n: int = 1, kind: str = "5xx", reset_seconds: int = 1
    ) -> None:
        self._knobs.fail_next(operation, n, kind, reset_seconds)

    def expire_tokens(self) -> None:
        auth.expire_all(self._ctx)

    def outage(self, seconds: float | None, kind: str = "refuse") -> None:
        """Feishu is down for `seconds` (None: until end_outage()), replacing any other outage.

        "refuse": the port stops listening and open connections are dropped, so clients get
        connection refused; it listens again on the same address, state intact. "5xx": every
        request is answered with HTTP 503 and a system-error body (and recorded as a call).
        """
        with self._outage_lock:
            if kind == "refuse" and self._server is None:
                raise RuntimeError("the emulator is not started")
            self._knobs.start_outage(kind, seconds)
            self._cancel_outage_timer()
            if self._server is None:
                return
            if kind == "refuse":
                self._server.refuse()
                if seconds is not None:
                    self._outage_timer = threading.Timer(seconds, self._end_timed_outage)
                    self._outage_timer.daemon = True
                    self._outage_timer.start()
            else:
                self._server.resume()

    def end_outage(self) -> None:
        with self._outage_lock:
            self._cancel_outage_timer()
            self._knobs.end_outage()
            if self._server is not None:
                self._server.resume()

    @property
    def in_outage(self) -> bool:
        if self._knobs.outage() is not None:
            return True
        server = self._server
        return server is not None and server.refusing

    def _end_timed_outage(self) -> None:
        with self._outage_lock:
            # runs in the Timer's own thread; it may have been cancelled or replaced meanwhile
            if self._outage_timer is not threading.current_thread():
                return
            try:
                self.end_outage()
            except OSError:
                log.exception("the emulator could not listen again on %s", self.url)

    def _cancel_outage_timer(self) -> None:
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None

    # --- card callbacks ----------------------------------------------------------------------
    def issue_card_token(self, message_id: str) -> str:
        return im.issue_card_token(self._ctx, message_id)

    @property
    def card_update_tokens(self) -> CardTokens:
        return CardTokens(self)

    def card_action(
        self,
        value: dict[str, Any],
        *,
        open_id: str,
        message_id: str,
        token: str,
        chat_id: str | None = None,
        event_id: str | None = None,
        tag: str = "button",
    ) -> dict[str, Any]:
        """A card.action.trigger callback for a message, with a freshly issued update token."""
        if chat_id is None:
            with self._state.lock:
                msg = self._state.messages.get(message_id)
                chat_id = msg.chat_id if msg else "oc_unknown"
        return events.card_action(
            value,
            open_id=open_id,
            message_id=message_id,
            chat_id=chat_id,
            token=token,
            card_token=self.issue_card_token(message_id),
            event_id=event_id,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
            tag=tag,
        )

    def assets_update_event(
        self, account_id: str, *, token: str, event_id: str | None = None
    ) -> dict[str, Any]:
        """A hire.referral_account.assets_update_v1 event carrying the account's balance now."""
        with self._state.lock:
            acc = self._account(account_id)
            points, cash = acc.points, dict(acc.cash)
        return events.assets_update_event(
            account_id,
            points,
            cash,
            token=token,
            event_id=event_id,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
        )

    # --- housekeeping ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget accounts, employees, messages, calls and knobs, and end any outage (issued tokens
        stay valid)."""
        self.end_outage()
        self._state.clear()
        self._knobs.clear()
        self._ctx.limiter.reset()
