"""`referral-bot doctor`: the real CLI against the emulated Open Platform (and a running bot)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from bot.cli import main
from bot.emulator import Employee, Emulator
from tests.conftest import ADMIN, ENCRYPT_KEY, VERIFICATION_TOKEN

HR_CHAT = "oc_hr"
SECOND_ADMIN = "ou_admin2"


def settings_env(emulator: Emulator, workdir: Path) -> dict[str, str]:
    """A correctly set-up deployment: two admins, a digest and a notice chat."""
    return {
        "LARK_APP_ID": emulator.app_id,
        "LARK_APP_SECRET": emulator.app_secret,
        "LARK_ENCRYPT_KEY": ENCRYPT_KEY,
        "LARK_VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "LARK_DOMAIN": emulator.url,
        "REFERRAL_BOT_DB": str(workdir / "bot.db"),
        "REFERRAL_BOT_ADMINS": f"{ADMIN},{SECOND_ADMIN}",
        "REFERRAL_BOT_DIGEST_CHATS": HR_CHAT,
        "REFERRAL_BOT_NOTICE_CHATS": HR_CHAT,
    }


@pytest.fixture
def doctor(emulator, tmp_path, monkeypatch, capsys):
    """Runs `referral-bot doctor` in this process with the settings in the environment;
    returns the exit status and the report as {check name: line}."""
    emulator.add_employee(
        Employee(
            open_id=ADMIN,
            email="hr@open.com",
            mobile=("86", "18900002222"),
            name_zh="王五",
            name_en="Wang Wu",
        )
    )
    emulator.add_employee(Employee(open_id=SECOND_ADMIN, email="hr2@open.com", name_en="Li Si"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    for name, value in settings_env(emulator, tmp_path).items():
        monkeypatch.setenv(name, value)

    def run(**env: str) -> tuple[int, dict[str, str]]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(["doctor"])
        out, err = capsys.readouterr()
        assert err == ""  # the report only: no log lines among it
        lines = out.splitlines()
        report = {line[6:].split(": ", 1)[0]: line for line in lines}
        assert len(report) == len(lines), out  # one line per check
        return code, report

    return run


def failing(report: dict[str, str]) -> list[str]:
    return [name for name, line in report.items() if line.startswith("FAIL")]


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_correct_setup_passes_without_side_effects(doctor, emulator, make_bot):
    emulator.create_account("ou_hire")
    emulator.add_bot_to_chat(HR_CHAT, name="HR 招聘")
    bot = make_bot()
    before = emulator.accounts

    code, report = doctor(REFERRAL_BOT_PUBLIC_URL=bot.url)

    assert code == 0, "\n".join(report.values())
    assert list(report) == [
        "settings",
        "database",
        "credentials",
        "bot",
        "permission hire:referral_account:readonly",
        "permission hire:referral_account",
        "permission im:message, im:message:send_as_bot",
        "permission contact:contact.base:readonly",
        "permission contact:user.base:readonly",
        "permission contact:user.email:readonly",
        "permission contact:user.phone:readonly",
        "permission hire:employee.email:readonly, hire:employee.mobile:readonly",
        "permission hire:referral:readonly",
        "permission hire:application:readonly",
        "permission hire:external_referral_reward",
        f"chat {HR_CHAT} (digest and notices)",
        f"admin {ADMIN}",
        f"admin {SECOND_ADMIN}",
        "request URL /webhook/event",
        "request URL /webhook/card",
    ]
    assert report["credentials"] == "ok    credentials: tenant token obtained"
    assert report["database"].startswith("ok    database: ")
    assert report["bot"] == "ok    bot: referral-bot (open_id ou_bot)"
    assert report[f"admin {ADMIN}"] == f"ok    admin {ADMIN}: 王五"
    # What cannot be told without an account is a warning, not a failure.
    warned = [name for name, line in report.items() if line.startswith("warn")]
    assert warned == ["permission hire:employee.email:readonly, hire:employee.mobile:readonly"]
    # the bot is in the chat: its name is shown
    assert report[f"chat {HR_CHAT} (digest and notices)"] == (
        f"ok    chat {HR_CHAT} (digest and notices): HR 招聘"
    )
    # The probes named things that do not exist: nothing was posted, created or changed.
    assert emulator.messages == []
    assert emulator.accounts == before
    probes = {c.operation: (c.status, c.response["code"]) for c in emulator.calls}
    assert probes["deactivate"] == (400, 1002553)
    assert probes["get_account_assets"] == (400, 1002553)
    assert probes["message_create"] == (400, 230001)
    assert probes["chat_get"] == (200, 0)
    assert "create" not in probes and "message_reply" not in probes
    assert probes["application_get_detail"] == (400, 1002201)
    assert probes["external_reward_create"] == (400, 1002002)
    assert emulator.external_rewards() == []


@pytest.mark.parametrize(
    ("revoked", "named"),
    [
        (("hire:referral_account",), "permission hire:referral_account"),
        (("im:message", "im:message:send_as_bot"), "permission im:message, im:message:send_as_bot"),
        (("contact:contact.base:readonly",), "permission contact:contact.base:readonly"),
        (("contact:user.email:readonly",), "permission contact:user.email:readonly"),
        (("contact:user.base:readonly",), "permission contact:user.base:readonly"),
        (("hire:referral:readonly",), "permission hire:referral:readonly"),
        (("hire:application:readonly",), "permission hire:application:readonly"),
        (("hire:external_referral_reward",), "permission hire:external_referral_reward"),
    ],
)
def test_a_missing_scope_is_named_with_where_to_add_it(doctor, emulator, revoked, named):
    emulator.revoke_scopes(*revoked)

    code, report = doctor()

    assert code == 1
    assert failing(report) == [named]
    assert "add it in Permissions & Scopes, then publish a version" in report[named]


def test_a_digest_chat_without_the_bot_fails_naming_it(doctor, emulator):
    emulator.remove_bot_from_chat("oc_digest")

    code, report = doctor(REFERRAL_BOT_DIGEST_CHATS=f"{HR_CHAT},oc_digest")

    assert code == 1
    assert failing(report) == ["chat oc_digest (digest)"]
    assert report["chat oc_digest (digest)"] == (
        "FAIL  chat oc_digest (digest): the bot is not in chat oc_digest: add the bot to the "
        "group (group settings → Bots)"
    )
    assert report[f"chat {HR_CHAT} (digest and notices)"].startswith("ok")
    # asking whether the bot is in a chat posts nothing
    assert emulator.messages == []


def test_without_the_chat_scope_the_scope_is_named_once(doctor, emulator):
    emulator.revoke_scopes("im:chat:readonly")

    code, report = doctor(REFERRAL_BOT_NOTICE_CHATS="oc_notices")

    assert code == 1
    assert failing(report) == ["permission im:chat:readonly"]
    line = report["permission im:chat:readonly"]
    assert "missing (getting chat oc_hr answers 99991672)" in line
    assert "its 2 chat(s) cannot be checked" in line
    assert f"https://open.feishu.cn/app/{emulator.app_id}/auth?q=" in line
    assert not any(name.startswith("chat ") for name in report)


def test_a_chat_that_does_not_exist_fails_naming_it(doctor, emulator):
    code, report = doctor(REFERRAL_BOT_DIGEST_CHATS="not-a-chat-id", REFERRAL_BOT_NOTICE_CHATS="")

    assert code == 1, "\n".join(report.values())
    assert failing(report) == ["chat not-a-chat-id (digest)"]
    assert report["chat not-a-chat-id (digest)"] == (
        "FAIL  chat not-a-chat-id (digest): there is no chat not-a-chat-id (code 232006), so "
        "nothing can be posted to it: fix REFERRAL_BOT_DIGEST_CHATS"
    )


def test_a_chat_that_cannot_be_checked_fails_naming_it(doctor, emulator):
    emulator.fail_next("chat_get", 10)

    code, report = doctor(REFERRAL_BOT_NOTICE_CHATS="oc_notices")

    assert code == 1
    assert failing(report) == [f"chat {HR_CHAT} (digest)", "chat oc_notices (notices)"]
    assert (
        "could not check that chat oc_notices can be posted to"
        in report["chat oc_notices (notices)"]
    )


@pytest.mark.parametrize(
    ("db", "cause"),
    [
        ("settings.txt/bot.db", "settings.txt is not a folder"),
        ("data", "it is a folder, not a file"),
        ("nowhere/bot.db", "the folder nowhere does not exist"),
    ],
)
def test_a_database_serve_could_not_open_fails(doctor, tmp_path, db, cause):
    (tmp_path / "settings.txt").write_text("not a folder")
    (tmp_path / "data").mkdir()

    code, report = doctor(REFERRAL_BOT_DB=db)

    assert code == 1
    assert failing(report) == ["database"]
    assert report["database"] == (
        f"FAIL  database: cannot open the database {db}: {cause}: fix REFERRAL_BOT_DB, "
        "or the folder's owner"
    )


def test_without_any_hire_scope_both_hire_permissions_fail(doctor, emulator):
    emulator.revoke_scopes("hire:referral_account", "hire:referral_account:readonly")

    code, report = doctor()

    assert code == 1
    assert failing(report) == [
        "permission hire:referral_account:readonly",
        "permission hire:referral_account",
    ]
    # Feishu's 99991672 message carries the console link that grants the scope.
    assert f"https://open.feishu.cn/app/{emulator.app_id}/auth?q=" in report[failing(report)[0]]


def test_wrong_credentials_are_named_and_the_feishu_checks_skipped(doctor, emulator):
    code, report = doctor(LARK_APP_SECRET="not-the-secret")

    assert code == 1
    assert failing(report) == ["credentials"]
    assert report["credentials"].startswith(
        "FAIL  credentials: LARK_APP_ID / LARK_APP_SECRET are wrong (code 10014"
    )
    assert "Credentials & Basic Info" in report["credentials"]
    assert not any(name.startswith(("bot", "permission", "admin")) for name in report)
    assert report[f"chat {HR_CHAT} (digest and notices)"].endswith("not checked: no tenant token")
    assert {c.operation for c in emulator.calls} == {"tenant_token"}


def test_admins_outside_the_contact_range_or_not_in_the_tenant(doctor, emulator):
    emulator.set_contact_range([ADMIN, "ou_hire"])

    code, report = doctor(REFERRAL_BOT_ADMINS=f"{ADMIN},{SECOND_ADMIN},ou_nobody")

    assert code == 1
    assert failing(report) == [f"admin {SECOND_ADMIN}", "admin ou_nobody"]
    assert "outside the app's contact range (41050)" in report[f"admin {SECOND_ADMIN}"]
    assert "not a person in this tenant (41012)" in report["admin ou_nobody"]
    # the admin that could be looked up still shows the field scopes granted
    assert report["permission contact:user.email:readonly"].startswith("ok")


def test_settings_nobody_can_act_and_approvers_who_are_not_admins(doctor):
    code, report = doctor(REFERRAL_BOT_ADMINS=" ", REFERRAL_BOT_WITHDRAW_APPROVERS="ou_boss")

    assert code == 1
    assert "REFERRAL_BOT_ADMINS is empty, so nobody can act" in report["settings"]
    assert (
        "REFERRAL_BOT_WITHDRAW_APPROVERS ou_boss not in REFERRAL_BOT_ADMINS" in (report["settings"])
    )
    assert report["permission contact:contact.base:readonly"].startswith("warn")


def test_settings_notes_do_not_fail(doctor):
    code, report = doctor(REFERRAL_BOT_ADMINS=ADMIN, REFERRAL_BOT_DIGEST_CHATS="")

    assert code == 0
    assert report["settings"].startswith("warn  settings: ")
    assert "digest off" in report["settings"]
    assert "no withdrawal can be approved" in report["settings"]


def test_public_url_of_a_dead_port_or_a_bot_with_other_secrets_fails(doctor, make_bot):
    code, report = doctor(REFERRAL_BOT_PUBLIC_URL=dead_url())

    assert code == 1
    assert failing(report) == ["request URL /webhook/event", "request URL /webhook/card"]
    assert "cannot reach" in report["request URL /webhook/event"]
    assert "Event configuration" in report["request URL /webhook/event"]
    assert "Callback configuration" in report["request URL /webhook/card"]

    stranger = make_bot(encrypt_key="another-key")
    code, report = doctor(REFERRAL_BOT_PUBLIC_URL=stranger.url)

    assert code == 1
    assert failing(report) == ["request URL /webhook/event", "request URL /webhook/card"]
    assert (
        "another LARK_ENCRYPT_KEY or LARK_VERIFICATION_TOKEN" in report["request URL /webhook/card"]
    )


def test_unreadable_settings_exit_2_with_one_line(doctor, monkeypatch, capsys):
    monkeypatch.delenv("LARK_APP_ID")

    assert main(["doctor"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "referral-bot: missing required setting LARK_APP_ID (environment or app.yaml)\n"
    assert main(["doctor", "--config", "nowhere.yaml"]) == 2
    assert capsys.readouterr().err == "referral-bot: config file nowhere.yaml does not exist\n"


def test_long_connection_endpoint(doctor, emulator):
    probe = requests.post(
        f"{emulator.url}/callback/ws/endpoint",
        json={"AppID": emulator.app_id, "AppSecret": emulator.app_secret},
        timeout=5,
    )
    if probe.status_code == 404:
        pytest.skip("the emulator does not serve POST /callback/ws/endpoint yet")

    code, report = doctor(REFERRAL_BOT_TRANSPORT="long_connection")

    assert code == 0, "\n".join(report.values())
    assert report["long connection"].startswith("ok    long connection: Feishu offers")
    assert not any(name.startswith("request URL") for name in report)

    code, report = doctor(REFERRAL_BOT_TRANSPORT="long_connection", LARK_APP_SECRET="wrong")

    assert code == 1
    assert failing(report) == ["credentials"]
    assert "long connection" not in report  # it needs the same credentials: skipped


def test_an_unreachable_domain_is_named(doctor):
    code, report = doctor(LARK_DOMAIN=dead_url())

    assert code == 1
    assert failing(report) == ["credentials"]
    assert "check LARK_DOMAIN and the network" in report["credentials"]
