"""The contact API: who a person is (name, email, mobile), by their open_id.

Feishu leaves fields out silently when the app lacks their field scopes
(`contact:user.email:readonly`, `contact:user.phone:readonly`, `contact:user.base:readonly`), so
a `Person` may come back without email or mobile; 41050 means the person is outside the app's
contact range.
"""

from __future__ import annotations

from lark_oapi.api.contact.v3 import GetUserRequest

from bot.domain.people import Person
from bot.feishu.openapi import OpenApi

OUTSIDE_CONTACT_RANGE = 41050
INVALID_USER_ID = 41012
EMAIL_SCOPE = "contact:user.email:readonly"
MOBILE_SCOPE = "contact:user.phone:readonly"


class Contacts:
    def __init__(self, api: OpenApi) -> None:
        self._api = api
        self._users = api.client.contact.v3.user

    def person(self, open_id: str) -> Person:
        """The person with this open_id; raises OpenApiError (41050 outside the range)."""
        request = GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build()
        response = self._api.call(
            "contact_user_get", lambda: self._users.get(request), idempotent=True
        )
        user = response.data.user if response.data is not None else None
        if user is None:
            return Person(open_id)
        return Person(
            open_id=user.open_id or open_id,
            name=user.name or user.en_name,
            email=user.email or user.enterprise_email,
            mobile=user.mobile,
        )
