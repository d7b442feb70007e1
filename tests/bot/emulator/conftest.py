"""Fixtures: a fresh emulator per test (unique app_id, since lark-oapi caches tenant tokens
globally by app_id) and helpers for raw HTTP calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import lark_oapi as lark
import pytest
import requests

from bot.emulator import Employee, Emulator

SECRET = "s3cret"


class Api:
    """Raw HTTP against the emulator with a valid tenant token."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        resp = requests.post(
            f"{emu.url}/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": emu.app_id, "app_secret": SECRET},
            timeout=5,
        )
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["tenant_access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {"Authorization": f"Bearer {self.token}"})
        return requests.request(method, self.emu.url + path, headers=headers, timeout=5, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(app_id=f"cli_{uuid.uuid4().hex[:16]}", app_secret=SECRET) as e:
        e.add_employee(
            Employee(
                open_id="ou_1",
                email="hire@open.com",
                mobile=("86", "18900001111"),
                name_zh="张三",
                name_en="Zhang San",
            )
        )
        yield e


@pytest.fixture
def api(emu: Emulator) -> Api:
    return Api(emu)


@pytest.fixture
def client(emu: Emulator) -> lark.Client:
    return (
        lark.Client.builder()
        .app_id(emu.app_id)
        .app_secret(SECRET)
        .domain(emu.url)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )
