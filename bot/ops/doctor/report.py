"""One line of the doctor's report (`Check`), and what every kind of check shares: the code of
a missing scope, where to add one, how long a probe waits, and an Open API refusal in words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.feishu.openapi import OpenApiError

SCOPE_MISSING = 99991672
TIMEOUT = 5.0  # quick rather than patient
ADD_SCOPE = "add it in Permissions & Scopes, then publish a version"
APPLY_LINK = re.compile(r"https://\S+/auth\?\S+")


@dataclass(frozen=True)
class Check:
    """One line of the report. `warning`: worth a look, but it does not fail the run."""

    name: str
    ok: bool
    detail: str
    warning: bool = False


def line(check: Check) -> str:
    label = "FAIL" if not check.ok else "warn" if check.warning else "ok"
    return f"{label:<6}{check.name}: {check.detail}"


def scope_fix(error: OpenApiError) -> str:
    """The fix, with the console link Feishu puts in its 99991672 message."""
    link = APPLY_LINK.search(error.msg)
    return f"{ADD_SCOPE} ({link.group(0)})" if link else ADD_SCOPE


def refusal(err: OpenApiError) -> str:
    if err.code is None:
        return err.msg
    log_id = f", log_id {err.log_id}" if err.log_id else ""
    return f"code {err.code}: {err.msg}{log_id}"
