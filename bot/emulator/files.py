"""IM file upload: `POST /open-apis/im/v1/files` (multipart/form-data) → `data.file_key`.

Feishu's rules (upload file page): `file_type` one of opus, mp4, pdf, doc, xls, ppt, stream;
`file_name` required; the file at most 30 MB and not empty (234010). The key is then sent as a
`msg_type: "file"` message with content `{"file_key": ...}` (im.py takes that as any message).
"""

from __future__ import annotations

import re
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Any

from .context import Context
from .protocol import ApiError, Request
from .state import State

FILE_TYPES = ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream")
MAX_FILE_BYTES = 30 * 1024 * 1024
# documented on the upload file page
FILE_PARAM_ERROR = 234001
FILE_TOO_LARGE = 234006
FILE_EMPTY = 234010


@dataclass(frozen=True)
class Part:
    """One field of a multipart/form-data body."""

    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class Upload:
    file_key: str
    file_type: str
    file_name: str
    data: bytes
    created_at: float


# Uploads live beside the tenant's state (one store per emulator), dropped with it.
_UPLOADS: weakref.WeakKeyDictionary[State, dict[str, Upload]] = weakref.WeakKeyDictionary()


def uploads(state: State) -> dict[str, Upload]:
    """The uploads of this tenant, by file_key; hold `state.lock` while using it."""
    with state.lock:
        return _UPLOADS.setdefault(state, {})


def clear(state: State) -> None:
    with state.lock:
        _UPLOADS.pop(state, None)


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def parse_form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {field name: Part}; ApiError 234001 when malformed."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if match is None:
        raise _param_error("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, Any] = {}
    sections = raw.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise _param_error("malformed multipart body")
    for section in sections[1:-1]:
        head, sep, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise _param_error("malformed multipart part")
        disposition = _header(head, "content-disposition")
        name = re.search(r'\bname="([^"]*)"', disposition)
        if name is None:
            raise _param_error("multipart part without a name")
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        fields[name.group(1)] = Part(
            data.removesuffix(b"\r\n"), filename.group(1) if filename else None
        )
    return fields


def _header(head: bytes, wanted: str) -> str:
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == wanted:
            return value.strip()
    return ""


def _param_error(detail: str) -> ApiError:
    return ApiError(400, FILE_PARAM_ERROR, f"Invalid request param, ext={detail}")


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if isinstance(value, Part):
        return value.data.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def upload(ctx: Context, req: Request) -> dict[str, Any]:
    body = req.json()
    part = body.get("file")
    if isinstance(part, Part):
        # The call log keeps a size, not the bytes (it is shown as JSON).
        body["file"] = f"<{len(part.data)} bytes>"
    for name, value in list(body.items()):
        if isinstance(value, Part):
            body[name] = value.data.decode("utf-8", "replace")
    file_type, file_name = _text(body, "file_type"), _text(body, "file_name")
    if file_type not in FILE_TYPES:
        raise _param_error(f"file_type must be one of {', '.join(FILE_TYPES)}")
    if not file_name:
        raise _param_error("file_name is required")
    if not isinstance(part, Part):
        raise _param_error("file is required (multipart/form-data)")
    if not part.data:
        raise ApiError(400, FILE_EMPTY, "File's size can't be 0.")
    if len(part.data) > MAX_FILE_BYTES:
        raise ApiError(400, FILE_TOO_LARGE, "The file size exceeds the limit (30 MB).")
    key = "file_v3_" + secrets.token_hex(16)
    with ctx.state.lock:
        uploads(ctx.state)[key] = Upload(key, file_type, file_name, part.data, time.time())
    return {"code": 0, "msg": "success", "data": {"file_key": key}}
