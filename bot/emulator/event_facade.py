"""The Emulator's factories of what Feishu pushes to the bot, built from the tenant: each event
carries the person's ids as the directory has them and as the app's scopes show them, and a
message event is noted so the bot's replies land in its chat. The plain builders, without a
tenant, are `events`'. Mixed into `Emulator`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import events, scopes
from .context import Context
from .state import Employee, State


class EventFacade:
    _state: State
    _ctx: Context
    app_id: str  # the Emulator's
    tenant_key: str  # the Emulator's

    if TYPE_CHECKING:  # from the tenant (TenantFacade) and the traffic (TrafficFacade)

        def _account(self, account_id: str) -> Any: ...
        def resign_employee(self, open_id: str) -> Employee: ...
        def issue_card_token(self, message_id: str) -> str: ...
        def note_user_message(self, message_id: str, chat_id: str) -> None: ...
        def p2p_chat_id(self, open_id: str) -> str: ...

    # --- card callbacks ----------------------------------------------------------------------
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

    # --- events ------------------------------------------------------------------------------
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
