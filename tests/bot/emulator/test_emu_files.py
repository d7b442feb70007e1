"""IM files: upload through the real SDK (multipart/form-data), then a file message."""

from __future__ import annotations

import io
import json

import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
)

from bot.emulator import Emulator
from bot.emulator.files import FILE_EMPTY, FILE_PARAM_ERROR, FILE_TOO_LARGE, MAX_FILE_BYTES

from .conftest import Api

CSV = "\ufeffaccount_id,referrer_name_zh\r\n6900001,张三\r\n".encode()


def upload(client: lark.Client, data: bytes, name: str = "referral.csv", file_type="stream"):
    body = (
        CreateFileRequestBody.builder()
        .file_type(file_type)
        .file_name(name)
        .file(io.BytesIO(data))
        .build()
    )
    return client.im.v1.file.create(CreateFileRequest.builder().request_body(body).build())


def test_upload_keeps_the_bytes_and_answers_a_key(emu: Emulator, client: lark.Client):
    response = upload(client, CSV, "referral-accounts-2026-11-22.csv")
    assert response.success(), response.msg
    key = response.data.file_key
    assert key.startswith("file_v3_")
    assert emu.file(key) == ("referral-accounts-2026-11-22.csv", CSV)
    assert emu.file_keys() == [key]
    (call,) = emu.calls_for("file_upload")
    assert call.body["file_type"] == "stream"
    assert call.body["file"] == f"<{len(CSV)} bytes>"  # the log keeps no bytes


def test_binary_content_survives_unchanged(emu: Emulator, client: lark.Client):
    data = bytes(range(256)) * 40 + b"\r\n--\r\n\r\n"
    key = upload(client, data, "blob.bin").data.file_key
    assert emu.file(key) == ("blob.bin", data)


def test_an_empty_file_is_refused(emu: Emulator, client: lark.Client):
    response = upload(client, b"")
    assert not response.success() and response.code == FILE_EMPTY
    assert emu.file_keys() == []


def test_a_bad_file_type_is_refused(client: lark.Client):
    response = upload(client, CSV, file_type="csv")
    assert response.code == FILE_PARAM_ERROR


def test_over_30_mb_is_refused(api: Api):
    big = b"x" * (MAX_FILE_BYTES + 1)
    resp = api.post(
        "/open-apis/im/v1/files",
        data={"file_type": "stream", "file_name": "big.csv"},
        files={"file": ("big.csv", big)},
    )
    assert resp.status_code == 400 and resp.json()["code"] == FILE_TOO_LARGE


def test_a_json_body_is_no_upload(api: Api):
    resp = api.post("/open-apis/im/v1/files", json={"file_type": "stream", "file_name": "a"})
    assert resp.json()["code"] == FILE_PARAM_ERROR


def test_file_message_references_the_key(emu: Emulator, client: lark.Client):
    key = upload(client, CSV).data.file_key
    body = (
        CreateMessageRequestBody.builder()
        .receive_id("oc_hr")
        .msg_type("file")
        .content(json.dumps({"file_key": key}))
        .uuid("export-1")
        .build()
    )
    request = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
    response = client.im.v1.message.create(request)
    assert response.success(), response.msg
    (message,) = emu.messages_in("oc_hr")
    assert message.msg_type == "file" and message.content == {"file_key": key}
    assert emu.file(message.content["file_key"])[1] == CSV


def test_reset_forgets_uploads(emu: Emulator, client: lark.Client):
    key = upload(client, CSV).data.file_key
    emu.reset()
    with pytest.raises(KeyError):
        emu.file(key)


def test_a_workbook_uploads_as_xls_and_comes_back_whole(emu: Emulator, client: lark.Client):
    """Feishu takes .xls and .xlsx files as file_type "xls"; the zip comes back byte for byte
    and opens."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["account_id", "referrer_name_zh"])
    book.active.append(["6918170000000000001", "张三"])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    response = upload(client, data, "referral-accounts-2026-11-22.xlsx", file_type="xls")
    assert response.success(), response.msg
    assert emu.file(response.data.file_key) == ("referral-accounts-2026-11-22.xlsx", data)
    (call,) = emu.calls_for("file_upload")
    assert call.body["file_type"] == "xls"
    again = openpyxl.load_workbook(io.BytesIO(emu.file(response.data.file_key)[1]))
    assert list(again.active.values) == [
        ("account_id", "referrer_name_zh"),
        ("6918170000000000001", "张三"),
    ]
