"""The Emulator facade: what tests and the sandbox drive."""

from __future__ import annotations

import copy
import logging
import secrets
import threading
from collections.abc import Iterable
from decimal import Decimal
from types import TracebackType
from typing import Any

from . import auth, chats, events, files, im, referral, scopes
from .context import Context
from .hire_facade import HireFacade
from .knobs import Knobs
from .ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter
from .server import HttpServer, Pipeline
from .state import Call, CardToken, Employee, Message, State, money
from .ws import DEFAULT_PART_SIZE, LongConnection

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


class _Pipeline(Pipeline):
    """The server's pipeline, also taking multipart/form-data bodies (file uploads): their
    fields reach the handler as `files.Part`s instead of failing as JSON."""

    def __init__(self, ctx: Context, knobs: Knobs) -> None:
        super().__init__(ctx, knobs)
        self._content_type = threading.local()

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Any:
        self._content_type.value = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), ""
        )
        return super().handle(method, target, headers, raw)

    def _parse_body(self, raw: bytes) -> dict[str, Any] | None:  # type: ignore[override]
        content_type = getattr(self._content_type, "value", "")
        if files.is_multipart(content_type):
            return files.parse_form(content_type, raw)
        return Pipeline._parse_body(raw)


class Emulator(HireFacade):
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
        ws_ack_timeout: float = 3.0,
        ws_max_connections: int = 50,
        ws_part_size: int = DEFAULT_PART_SIZE,
        ws_client_config: dict[str, int] | None = None,
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
        self._ws = LongConnection(
            self._ctx,
            host,
            ack_timeout=ws_ack_timeout,
            max_connections=ws_max_connections,
            part_size=ws_part_size,
            client_config=ws_client_config,
        )
        self._ctx.ws = self._ws
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
            self._server = HttpServer(_Pipeline(self._ctx, self._knobs), self.host, self.port)
            self._server.start()
        self._ws.start()
        return self

    def stop(self) -> None:
        """Stop serving; this also ends any outage."""
        with self._outage_lock:
            self._cancel_outage_timer()
            self._knobs.end_outage()
            self._ws.stop()
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

    def employee(self, open_id: str) -> Employee | None:
        """A copy of the directory entry of `open_id`, if any."""
        with self._state.lock:
            emp = self._state.employee(open_id)
            return copy.deepcopy(emp) if emp else None

    def resign_employee(self, open_id: str) -> Employee:
        """The person leaves: contact answers show them resigned, and batch_get_id finds them
        only with include_resigned. See `user_deleted_event` for the event Feishu sends."""
        with self._state.lock:
            emp = self._state.employee(open_id)
            if emp is None:
                raise KeyError(f"no employee {open_id}")
            emp.resigned = True
            return copy.deepcopy(emp)

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

    def withdrawals(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """The withdrawals Hire recorded (of `account_id`, if given), oldest first: each
        {external_order_id, account_id, trans_time (ms string, as the API answers it), points,
        cash {currency: Decimal}, source ("api" or "console"), requests (withdraw calls
        answered with it: 1 + repeats of its order id; 0 for a console one never asked for)}.
        A bot that retried an order shows one entry with requests > 1."""
        with self._state.lock:
            return [
                w.snapshot()
                for w in self._state.withdrawals.values()
                if account_id is None or w.account_id == account_id
            ]

    def withdrawal(self, external_order_id: str) -> dict[str, Any]:
        """One recorded withdrawal, as in `withdrawals()`; KeyError when there is none."""
        with self._state.lock:
            w = self._state.withdrawals.get(external_order_id)
            if w is None:
                raise KeyError(f"no withdrawal {external_order_id}")
            return w.snapshot()

    def record_withdrawal(
        self,
        account_id: str,
        points: int,
        cash: dict[str, Decimal | float | str] | None = None,
        trans_time_ms: int | str | None = None,
        order_id: str | None = None,
    ) -> dict[str, Any]:
        """A withdrawal made outside the bot (in Feishu's console): Hire records it, so
        reconciliation counts it, and a withdraw call repeating `order_id` is answered with it.
        The balance is left as it is (shape it with add_bonus). `trans_time_ms` defaults to
        now; `order_id` to a fresh "console_..." id. Returns the entry as in `withdrawals()`."""
        if int(points) < 0:
            raise ValueError("points must not be negative")
        amounts = {cur: money(amount) for cur, amount in (cash or {}).items()}
        if any(amount < 0 for amount in amounts.values()):
            raise ValueError("cash amounts must not be negative")
        trans_time = None if trans_time_ms is None else str(int(trans_time_ms))
        with self._state.lock:
            self._account(account_id)
            if order_id is None:
                order_id = f"console_{secrets.token_hex(8)}"
            if order_id in self._state.withdrawals:
                raise ValueError(f"a withdrawal {order_id} is already recorded")
            w = referral.record_withdrawal(
                self._state,
                account_id,
                order_id,
                int(points),
                amounts,
                trans_time=trans_time,
                source="console",
            )
            return w.snapshot()

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

    def recall(self, message_id: str) -> None:
        """Someone (a chat's owner or admin) recalls a message the bot sent: it can no longer
        be updated (230011)."""
        with self._state.lock:
            msg = self._state.messages.get(message_id)
            if msg is None:
                raise KeyError(f"no message {message_id} sent by the bot")
            msg.recalled = True

    def note_user_message(self, message_id: str, chat_id: str) -> None:
        """Tell the emulator a user's message exists in a chat, so replies land in that chat."""
        with self._state.lock:
            self._state.user_messages[message_id] = chat_id

    def p2p_chat_id(self, open_id: str) -> str:
        """The one-to-one chat of the bot with `open_id` (made on first use): where a message
        sent with receive_id_type open_id (or the person's union_id, user_id, email) lands."""
        return self._state.p2p_chat_id(open_id)

    def messages_in(self, chat_id: str) -> list[Message]:
        return [m for m in self.messages if m.chat_id == chat_id]

    # --- chats -------------------------------------------------------------------------------
    def remove_bot_from_chat(self, chat_id: str) -> None:
        """The bot leaves (or is removed from) `chat_id`: getting the chat answers 232011, and
        sending a message to it 230002. By default the bot is in every chat."""
        chats.remove(self._state, chat_id)

    def add_bot_to_chat(self, chat_id: str, name: str | None = None) -> None:
        """The bot is added to `chat_id` again; `name`: the chat's name in the get-chat answer
        (default "Group <chat_id>", "" for a one-to-one chat)."""
        chats.add(self._state, chat_id, name)

    def bot_in_chat(self, chat_id: str) -> bool:
        return chats.has_bot(self._state, chat_id)

    # --- uploaded files ----------------------------------------------------------------------
    def file(self, file_key: str) -> tuple[str, bytes]:
        """The name and bytes of a file uploaded through im/v1/files."""
        with self._state.lock:
            upload = files.uploads(self._state).get(file_key)
        if upload is None:
            raise KeyError(f"no uploaded file {file_key}")
        return upload.file_name, upload.data

    def file_keys(self) -> list[str]:
        """Every uploaded file's key, oldest first."""
        with self._state.lock:
            return list(files.uploads(self._state))

    # --- scopes and contact range ------------------------------------------------------------
    @property
    def granted_scopes(self) -> frozenset[str]:
        """The app's scopes; by default `scopes.DEFAULT_SCOPES` (what the referral bot needs)."""
        return self._ctx.scopes

    def grant_scopes(self, *granted: str) -> None:
        self._ctx.scopes = self._ctx.scopes | scopes.normalize(granted)

    def revoke_scopes(self, *revoked: str) -> None:
        """Without an API's scope its calls answer 99991672; without a field scope the field is
        silently left out (contact users, get_account_assets' referrer, events)."""
        self._ctx.scopes = self._ctx.scopes - scopes.normalize(revoked)

    @property
    def contact_range(self) -> frozenset[str] | None:
        return self._ctx.contact_range

    def set_contact_range(self, open_ids: Iterable[str] | None) -> None:
        """The people (open_ids) the app may see in contacts; None: everyone (the default).
        Others get 41050 from contact_user_get and are unknown to batch_get_id."""
        self._ctx.contact_range = None if open_ids is None else frozenset(open_ids)

    # --- knobs -------------------------------------------------------------------------------
    def set_latency(self, operation: str, seconds: float) -> None:
        self._knobs.set_latency(operation, seconds)

    def fail_next(
        self, operation: str, n: int = 1, kind: str = "5xx", reset_seconds: int = 1
    ) -> None:
        self._knobs.fail_next(operation, n, kind, reset_seconds)

    def fail_until_stopped(self, operation: str, kind: str = "5xx", reset_seconds: int = 1) -> None:
        """Every request of `operation` ("hire": every referral-account operation, "*": every
        operation) fails as `fail_next` would, until `stop_failing`: Feishu keeps answering
        errors while the rest of the platform works."""
        self._knobs.fail_until_stopped(operation, kind, reset_seconds)

    def stop_failing(self, operation: str | None = None) -> None:
        """End `fail_until_stopped` for `operation`, or (None) for every operation."""
        self._knobs.stop_failing(operation)

    def in_flight(self, operation: str) -> int:
        """Requests of `operation` received and not answered yet (in their latency, say)."""
        return self._knobs.in_flight(operation)

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

    def _ids(self, open_id: str) -> dict[str, str]:
        """A person's id triple as events carry it: from the directory when known, without
        user_id unless contact:user.employee_id:readonly is granted."""
        with self._state.lock:
            emp = self._state.employee(open_id)
            ids = (
                {"open_id": open_id, "union_id": emp.union_id, "user_id": emp.user_id}
                if emp
                else events.user_ids(open_id)
            )
        shown = scopes.visible(ids, scopes.USER_ID_FIELD_SCOPES, self._ctx.scopes)
        return {
            "open_id": open_id,
            "union_id": shown["union_id"],
            "user_id": shown.get("user_id", ""),
        }

    def user_mention(self, open_id: str, key: str = "@_user_1") -> dict[str, Any]:
        """A `mentions` entry for a person, named and identified as the directory has them."""
        with self._state.lock:
            emp = self._state.employee(open_id)
            name = emp.display_name if emp else open_id
        ids = self._ids(open_id)
        return events.user_mention(
            key,
            open_id,
            name,
            union_id=ids["union_id"],
            user_id=ids["user_id"],
            tenant_key=self.tenant_key,
        )

    def bot_mention(self, key: str = "@_user_1") -> dict[str, Any]:
        """A `mentions` entry for this app's bot."""
        entry = events.bot_mention(
            self._ctx.bot_name, self._ctx.bot_open_id, tenant_key=self.tenant_key
        )
        entry["key"] = key
        return entry

    def message_event(
        self,
        text: str,
        *,
        open_id: str,
        token: str,
        chat_id: str | None = None,
        chat_type: str = "p2p",
        mentions: list[dict[str, Any]] | None = None,
        message_id: str | None = None,
        event_id: str | None = None,
        root_id: str = "",
        parent_id: str = "",
    ) -> dict[str, Any]:
        """An im.message.receive_v1 push from `open_id`, noted so the bot's replies land in its
        chat. A p2p message defaults to the person's one-to-one chat with the bot."""
        if chat_id is None:
            if chat_type != "p2p":
                raise ValueError("a group message needs its chat_id")
            chat_id = self.p2p_chat_id(open_id)
        elif chat_type == "p2p":
            self._state.p2p_chat_id(open_id, chat_id)
        ids = self._ids(open_id)
        event = events.message_event(
            text,
            token=token,
            open_id=open_id,
            union_id=ids["union_id"],
            user_id=ids["user_id"],
            chat_id=chat_id,
            chat_type=chat_type,
            message_id=message_id,
            event_id=event_id,
            mentions=mentions,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
            root_id=root_id,
            parent_id=parent_id,
        )
        self.note_user_message(event["event"]["message"]["message_id"], chat_id)
        return event

    def p2p_chat_entered_event(
        self,
        open_id: str,
        *,
        token: str,
        chat_id: str | None = None,
        last_message_id: str | None = None,
        last_message_create_time: int | str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """im.chat.access_event.bot_p2p_chat_entered_v1 for the person's chat with the bot
        (`chat_id`, if given, becomes that chat)."""
        chat = self._state.p2p_chat_id(open_id, chat_id)
        ids = self._ids(open_id)
        return events.p2p_chat_entered_event(
            open_id,
            chat,
            token=token,
            union_id=ids["union_id"],
            user_id=ids["user_id"],
            last_message_id=last_message_id,
            last_message_create_time=last_message_create_time,
            event_id=event_id,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
        )

    def bot_menu_event(
        self,
        open_id: str,
        event_key: str,
        *,
        token: str,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """application.bot.menu_v6 pressed by `open_id`; operator_name only with the scope
        application:application.bot.operator_name:readonly (not granted by default)."""
        with self._state.lock:
            emp = self._state.employee(open_id)
            name = emp.display_name if emp else None
        if scopes.MENU_OPERATOR_NAME_SCOPE not in self._ctx.scopes:
            name = None
        ids = self._ids(open_id)
        return events.bot_menu_event(
            open_id,
            event_key,
            token=token,
            operator_name=name,
            union_id=ids["union_id"],
            user_id=ids["user_id"],
            timestamp=timestamp,
            event_id=event_id,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
        )

    def user_deleted_event(
        self, open_id: str, *, token: str, event_id: str | None = None
    ) -> dict[str, Any]:
        """The person leaves (see `resign_employee`) and Feishu tells the bot:
        contact.user.deleted_v3 with the user under the app's field scopes."""
        emp = self.resign_employee(open_id)
        return events.user_deleted_event(
            emp,
            token=token,
            granted_scopes=self._ctx.scopes,
            event_id=event_id,
            app_id=self.app_id,
            tenant_key=self.tenant_key,
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

    # --- long connection (WebSocket) mode ---------------------------------------------------
    @property
    def ws_connections(self) -> int:
        """Open long connections of this app."""
        return self._ws.connections

    def ws_push(self, payload: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """Push an event or callback (a schema-2.0 envelope, plain JSON) as a data frame to one
        random open connection and return its decoded ack: {"code": 200}, {"code": 500}, or
        {"code": 200, "data": {...}} (the handler's answer, base64 JSON on the wire). Without an
        ack within `ws_ack_timeout` (3 s) it is pushed again, same message_id, to a random
        connection; while none is open (or the socket is silent) it waits for one. TimeoutError
        after `timeout`. A card.action.trigger answer's `card` (raw: `data`) is applied to the
        message's card, as Feishu does (see `latest_card`)."""
        return self._ws.push(payload, timeout=timeout)

    @property
    def ws_log(self) -> list[dict[str, Any]]:
        """Each ws_push, oldest first: message_id, event_type, acked, answer, attempts."""
        return self._ws.log

    @property
    def ws_client_config(self) -> dict[str, int]:
        """The ClientConfig the endpoint and every pong carry (change it in place, and pongs
        carry the change)."""
        return self._ws.client_config

    def ws_drop_all(self) -> None:
        """Close every long connection abruptly (no close frame), as a network cut does."""
        self._ws.drop_all()

    def ws_go_silent(self, seconds: float) -> None:
        """For `seconds`: no pong to pings and no delivery; the connections stay open."""
        self._ws.go_silent(seconds)

    def ws_refuse_new(self, seconds: float) -> None:
        """For `seconds`: the endpoint answers code 1 (system busy, the SDK retries) and socket
        handshakes get HTTP 503; open connections are left alone."""
        self._ws.refuse_new(seconds)

    # --- housekeeping ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget accounts, employees, chats, messages, calls and knobs (scopes and the contact
        range back to their defaults), and end any outage (issued tokens stay valid)."""
        self.end_outage()
        self._state.clear()
        files.clear(self._state)
        chats.clear(self._state)
        self._knobs.clear()
        self._ctx.limiter.reset()
        self._ctx.scopes = scopes.DEFAULT_SCOPES
        self._ctx.contact_range = None
        self._ws.reset()
        self._reset_hire()
