"""The Emulator's tenant for tests and the sandbox: the directory and the referral accounts
(balances, status, the withdrawals Hire recorded), the chats the bot is in, uploaded files, and
the app's scopes and contact range. Mixed into `Emulator`."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from . import chats, files, referral, scopes
from .context import Context
from .state import Employee, State, money


class TenantFacade:
    _state: State
    _ctx: Context

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
