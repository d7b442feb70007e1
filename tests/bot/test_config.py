"""Settings: app.yaml, the environment winning, and one clear line when something is wrong."""

import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings

REQUIRED = {
    "LARK_APP_ID": "cli_1",
    "LARK_APP_SECRET": "secret",
    "LARK_VERIFICATION_TOKEN": "vt",
    "LARK_ENCRYPT_KEY": "ek",
}


def test_defaults_from_the_contract(tmp_path):
    settings = load_settings(None, {**REQUIRED, "REFERRAL_BOT_CONFIG": ""} | {})
    assert settings.domain == "https://open.feishu.cn"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.db_path == "referral-bot.db"
    assert settings.admins == frozenset()
    assert settings.digest_cron == "0 9 * * 1-5"
    assert settings.digest_tz == "Asia/Shanghai"
    assert settings.digest_chats == ()
    assert settings.allow_unsigned is False
    assert not settings.is_admin("ou_anyone")
    assert (settings.withdraw_approvers, settings.withdraw_self_approve) == (frozenset(), False)
    assert settings.reconcile_cron == "0 10 1 * *"
    assert (settings.notice_chats, settings.notify_referrers, settings.offboarding) == (
        (),
        False,
        "ask",
    )
    assert (settings.referral_updates, settings.default_reward) == ("stages", "")


def test_encrypt_key_is_required_unless_unsigned_pushes_are_allowed():
    without = {k: v for k, v in REQUIRED.items() if k != "LARK_ENCRYPT_KEY"}
    with pytest.raises(ConfigError) as refused:
        load_settings(None, without)
    assert "LARK_ENCRYPT_KEY" in str(refused.value)
    assert "REFERRAL_BOT_ALLOW_UNSIGNED" in str(refused.value)
    allowed = load_settings(None, without | {"REFERRAL_BOT_ALLOW_UNSIGNED": "1"})
    assert (allowed.encrypt_key, allowed.allow_unsigned) == ("", True)
    with pytest.raises(ConfigError, match="REFERRAL_BOT_ALLOW_UNSIGNED"):
        load_settings(None, without | {"REFERRAL_BOT_ALLOW_UNSIGNED": "maybe"})


def test_file_then_environment_wins(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text(
        "REFERRAL_BOT_PORT: 9000\nreferral_bot_admins: [ou_a, ou_b]\n"
        "REFERRAL_BOT_DIGEST_CHATS: oc_1, oc_2\nLARK_DOMAIN: https://open.larksuite.com/\n"
    )
    settings = load_settings(config, {**REQUIRED, "REFERRAL_BOT_PORT": "9100"})
    assert settings.port == 9100
    assert settings.admins == frozenset({"ou_a", "ou_b"})
    assert settings.digest_chats == ("oc_1", "oc_2")
    assert settings.domain == "https://open.larksuite.com"
    assert settings.is_admin("ou_a")


def test_secrets_never_show_in_repr():
    settings = load_settings(None, REQUIRED | {"LARK_ENCRYPT_KEY": "ek-secret"})
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "file_text", "names"),
    [
        ({"LARK_APP_ID": "x", "LARK_APP_SECRET": "y"}, None, "LARK_VERIFICATION_TOKEN"),
        (REQUIRED, "LARK_APP_ID: [unclosed\n", "not valid YAML"),
        (REQUIRED, "- a list\n", "must be a mapping"),
        (REQUIRED, "NO_SUCH_SETTING: 1\n", "NO_SUCH_SETTING"),
        (REQUIRED | {"REFERRAL_BOT_PORT": "eighty"}, None, "REFERRAL_BOT_PORT"),
        (REQUIRED | {"REFERRAL_BOT_DIGEST_CRON": "every day"}, None, "REFERRAL_BOT_DIGEST_CRON"),
        (REQUIRED | {"REFERRAL_BOT_DIGEST_TZ": "Mars/Olympus"}, None, "REFERRAL_BOT_DIGEST_TZ"),
        (REQUIRED | {"LARK_DOMAIN": "open.feishu.cn"}, None, "LARK_DOMAIN"),
        ({**REQUIRED, "LARK_ENCRYPT_KEY": ""}, None, "LARK_ENCRYPT_KEY"),
        (REQUIRED | {"REFERRAL_BOT_OFFBOARDING": "fire"}, None, "REFERRAL_BOT_OFFBOARDING"),
        (REQUIRED | {"REFERRAL_BOT_TRANSPORT": "pigeon"}, None, "REFERRAL_BOT_TRANSPORT"),
        (REQUIRED | {"REFERRAL_BOT_PUBLIC_URL": "bot.example"}, None, "REFERRAL_BOT_PUBLIC_URL"),
        (
            REQUIRED | {"REFERRAL_BOT_RECONCILE_CRON": "monthly"},
            None,
            "REFERRAL_BOT_RECONCILE_CRON",
        ),
        (REQUIRED | {"REFERRAL_BOT_NOTIFY_REFERRERS": "yes please"}, None, "NOTIFY_REFERRERS"),
        (REQUIRED | {"REFERRAL_BOT_REFERRAL_UPDATES": "all"}, None, "REFERRAL_UPDATES"),
        (REQUIRED | {"REFERRAL_BOT_DEFAULT_REWARD": "lots"}, None, "DEFAULT_REWARD"),
        (REQUIRED | {"REFERRAL_BOT_DEFAULT_REWARD": "100 XYZ"}, None, "DEFAULT_REWARD"),
        (REQUIRED | {"REFERRAL_BOT_DEFAULT_REWARD": "1.5 points"}, None, "DEFAULT_REWARD"),
    ],
)
def test_bad_settings_name_what_is_wrong(tmp_path, environ, file_text, names):
    config = None
    if file_text is not None:
        config = tmp_path / "app.yaml"
        config.write_text(file_text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ)
    assert names in str(caught.value)
    assert "\n" not in str(caught.value)


def test_explicit_config_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.yaml", REQUIRED)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (
            ["serve"],
            {},
            "missing required settings LARK_APP_ID, LARK_APP_SECRET, LARK_VERIFICATION_TOKEN, "
            "LARK_ENCRYPT_KEY (",
        ),
        (["serve", "--config", "broken.yaml"], REQUIRED, "not valid YAML"),
        (["serve"], {**REQUIRED, "LARK_ENCRYPT_KEY": ""}, "LARK_ENCRYPT_KEY"),
        # A database that cannot be opened (a volume the bot's user may not write): not a
        # traceback. A path under a regular file, and a folder, fail even for root.
        (
            ["serve"],
            {**REQUIRED, "REFERRAL_BOT_DB": "broken.yaml/bot.db", "REFERRAL_BOT_PORT": "0"},
            "cannot open the database broken.yaml/bot.db: broken.yaml is not a folder",
        ),
        (
            ["serve"],
            {**REQUIRED, "REFERRAL_BOT_DB": "data", "REFERRAL_BOT_PORT": "0"},
            "cannot open the database data: it is a folder, not a file",
        ),
    ],
)
def test_serve_stops_with_one_line_and_exit_code_2(tmp_path, args, env, expected):
    (tmp_path / "broken.yaml").write_text("a: [\n")
    (tmp_path / "data").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_long_connection_needs_no_encrypt_key_nor_token():
    settings = load_settings(
        None,
        {
            "LARK_APP_ID": "cli_1",
            "LARK_APP_SECRET": "s",
            "REFERRAL_BOT_TRANSPORT": "long_connection",
        },
    )
    assert settings.transport == "long_connection" and settings.encrypt_key == ""


def test_every_missing_setting_is_named_in_one_line(tmp_path):
    (tmp_path / "app.yaml").write_text("")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "app.yaml", {})
    message = str(caught.value)
    assert message.startswith(
        "missing required settings LARK_APP_ID, LARK_APP_SECRET, LARK_VERIFICATION_TOKEN, "
        "LARK_ENCRYPT_KEY (environment or app.yaml"
    )
    assert "\n" not in message


def test_missing_and_wrong_settings_are_named_together(tmp_path):
    (tmp_path / "app.yaml").write_text("")
    with pytest.raises(ConfigError) as caught:
        load_settings(
            tmp_path / "app.yaml",
            {
                "LARK_APP_ID": "cli_1",
                "REFERRAL_BOT_PORT": "eighty",
                "REFERRAL_BOT_DIGEST_TZ": "Mars/Olympus",
                "REFERRAL_BOT_NOTIFY_REFERRERS": "maybe",
                "REFERRAL_BOT_TRANSPORT": "long_connection",
            },
        )
    problems = str(caught.value).split("; ")
    assert problems[0] == "missing required setting LARK_APP_SECRET (environment or app.yaml)"
    assert [p.split()[0] for p in problems[1:]] == [
        "REFERRAL_BOT_PORT",
        "REFERRAL_BOT_DIGEST_TZ",
        "REFERRAL_BOT_NOTIFY_REFERRERS",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes wherever it likes")
def test_a_folder_the_user_may_not_write_is_named_with_the_uid(tmp_path):
    volume = tmp_path / "data"
    volume.mkdir(mode=0o555)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **REQUIRED, "REFERRAL_BOT_DB": "data/bot.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"referral-bot: cannot open the database data/bot.db: uid {os.geteuid()} may not write "
        f"in the folder data (owned by uid {os.geteuid()})\n"
    )


def test_log_level_and_the_previous_secrets():
    settings = load_settings(None, REQUIRED)
    assert settings.log_level == "INFO"
    assert (settings.encrypt_key_previous, settings.verification_token_previous) == ("", "")
    settings = load_settings(
        None,
        {
            **REQUIRED,
            "REFERRAL_BOT_LOG_LEVEL": "debug",
            "LARK_ENCRYPT_KEY_PREVIOUS": "old-key",
            "LARK_VERIFICATION_TOKEN_PREVIOUS": "old-token",
        },
    )
    assert settings.log_level == "DEBUG"
    assert (settings.encrypt_key_previous, settings.verification_token_previous) == (
        "old-key",
        "old-token",
    )
    assert "old-key" not in repr(settings) and "old-token" not in repr(settings)
    with pytest.raises(ConfigError, match="REFERRAL_BOT_LOG_LEVEL must be one of"):
        load_settings(None, {**REQUIRED, "REFERRAL_BOT_LOG_LEVEL": "loud"})


@pytest.mark.parametrize(
    ("given", "updates", "reward"),
    [
        ({"REFERRAL_BOT_REFERRAL_UPDATES": "Outcomes"}, "outcomes", ""),
        ({"REFERRAL_BOT_DEFAULT_REWARD": "CNY 3000"}, "stages", "CNY 3000"),
        ({"REFERRAL_BOT_DEFAULT_REWARD": " 2000 points "}, "stages", "2000 points"),
    ],
)
def test_referral_updates_and_default_reward(given, updates, reward):
    settings = load_settings(None, {**REQUIRED, "REFERRAL_BOT_CONFIG": ""} | given)
    assert (settings.referral_updates, settings.default_reward) == (updates, reward)
