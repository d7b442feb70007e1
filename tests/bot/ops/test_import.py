"""`referral-bot import FILE`: reading the IDs, and the real CLI against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.emulator import Employee, Emulator
from bot.feishu.openapi import OpenApi, RetryPolicy, TokenCache, build_client
from bot.feishu.referral import ReferralGateway
from bot.ops.importer import ImportResult, import_accounts, is_account_id, read_account_ids
from bot.records.store import AccountBook, Database
from tests.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN, make_settings

REPO = Path(__file__).resolve().parents[3]

# --- reading the file ----------------------------------------------------------------------


def test_plain_lines_with_blanks_whitespace_and_duplicates():
    text = "6901\n\n  6902  \n6901\n\t6903\r\n\n"
    assert read_account_ids(text) == ["6901", "6902", "6903"]


def test_csv_first_column_with_and_without_header():
    with_header = 'account_id,name\n6901,"Zhang, San"\n6902,Li Si\n'
    without = '6901,"Zhang, San"\n6902,Li Si\n'
    assert read_account_ids(with_header) == ["6901", "6902"]
    assert read_account_ids(without) == ["6901", "6902"]


def test_bom_quotes_and_a_quoted_header():
    text = '\ufeff"ID","referrer"\n"6901","a"\n\'6902\'\n" 6903 ",c\n"6901"\n'
    assert read_account_ids(text) == ["6901", "6902", "6903"]


def test_a_bom_before_a_first_id_does_not_make_it_a_header():
    assert read_account_ids("\ufeff6901\n6902\n") == ["6901", "6902"]


def test_non_digit_cells_of_data_rows_are_kept_for_the_report():
    # Only the first row may be a header; later cells come back as written, so the import
    # can list them as "not an account ID" (e.g. an ID Excel turned into 6.90E+18).
    text = "id\n6901\nabc\n6.9E+18\n6901\nabc\n\uff16\uff19\n"
    assert read_account_ids(text) == ["6901", "abc", "6.9E+18", "\uff16\uff19"]
    assert [is_account_id(c) for c in read_account_ids(text)] == [True, False, False, False]


def test_nothing_to_read():
    assert read_account_ids("") == []
    assert read_account_ids("\ufeff\n  \n,\naccount_id\n") == []


def test_summary_lists_each_kind_of_miss():
    result = ImportResult(
        imported=["6901", "6902"],
        not_found=["6903"],
        failed=[("6904", "cannot reach Feishu: ConnectionError")],
        not_ids=["abc"],
    )
    assert not result.complete
    assert result.summary() == (
        "imported 2 of 5 accounts; 1 not found:\n"
        "6903\n"
        "1 could not be fetched:\n"
        "6904: cannot reach Feishu: ConnectionError\n"
        "1 not an account ID:\n"
        "abc"
    )
    assert ImportResult(imported=["6901"]).summary() == "imported 1 of 1 accounts"
    assert ImportResult(imported=["6901"]).complete


# --- the real CLI against the emulator ----------------------------------------------------


def settings_env(emulator: Emulator, workdir: Path) -> dict[str, str]:
    return {
        "LARK_APP_ID": emulator.app_id,
        "LARK_APP_SECRET": emulator.app_secret,
        "LARK_ENCRYPT_KEY": ENCRYPT_KEY,
        "LARK_VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "LARK_DOMAIN": emulator.url,
        "REFERRAL_BOT_DB": str(workdir / "bot.db"),
    }


def run_import(emulator: Emulator, workdir: Path, file: str) -> subprocess.CompletedProcess:
    """The real CLI in a child process, as an operator runs it."""
    env = {**os.environ, **settings_env(emulator, workdir), "PYTHONPATH": str(REPO)}
    env.pop("REFERRAL_BOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", file],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def import_here(emulator, tmp_path, monkeypatch, capsys):
    """The same CLI in this process (the SDK takes seconds to load in a new one)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    for name, value in settings_env(emulator, tmp_path).items():
        monkeypatch.setenv(name, value)

    def run(file: str) -> tuple[int, str, str]:
        code = main(["import", file])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def add_accounts(emulator: Emulator, n: int) -> list[str]:
    ids = []
    for i in range(n):
        open_id = f"ou_staff{i:03d}"
        emulator.add_employee(
            Employee(open_id=open_id, email=f"staff{i}@open.com", name_en=f"Staff {i}")
        )
        ids.append(emulator.create_account(open_id))
    return ids


def records(workdir: Path) -> dict[str, dict]:
    database = Database(str(workdir / "bot.db"))
    try:
        rows = database.db["accounts"].rows_where(order_by="account_id")
        return {row["account_id"]: row for row in rows}
    finally:
        database.close()


def test_import_within_the_rate_limit_lists_unknown_ids_and_is_idempotent(
    emulator, tmp_path, import_here
):
    assert emulator.rate_limits["get_account_assets"] == (10, 1.0)  # Feishu's documented limit
    known = add_accounts(emulator, 117)
    unknown = ["6900000000000000001", "6900000000000000002", "6900000000000000003"]
    ids = known[:40] + [unknown[0]] + known[40:80] + unknown[1:] + known[80:]
    (tmp_path / "accounts.csv").write_text(
        "account_id,owner\n" + "".join(f"{i},someone\n" for i in ids), encoding="utf-8"
    )

    first = run_import(emulator, tmp_path, "accounts.csv")

    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines() == ["imported 117 of 120 accounts; 3 not found:", *unknown]
    assert first.stderr == ""  # no bar (not a terminal), no warning per unknown ID
    calls = emulator.calls_for("get_account_assets")
    assert sorted(c.query["referral_account_id"] for c in calls) == sorted(ids)
    assert [c for c in calls if c.status == 429] == []  # the client kept under the limit
    # 10 in any second, so the 120th call goes at least 11 s after the first; and not much
    # later, or the limit is not being used.
    span = calls[-1].at - calls[0].at
    assert 10.9 <= span < 14, span

    book = AccountBook(Database(str(tmp_path / "bot.db")))
    assert book.count() == 117
    for i in (0, 58, 116):
        record = book.get(known[i])
        assert record is not None and record.account is not None
        referrer = record.account.referrer
        assert referrer is not None and referrer.id == f"ou_staff{i:03d}"
        assert referrer.name_en == f"Staff {i}"
    assert all(book.get(u) is None for u in unknown)
    before = records(tmp_path)

    # Again (in this process, to spare the SDK's load time): the same answer, nothing new.
    # Feishu's window may still hold the first run's last calls, which this run's fresh
    # limiter cannot know of: Feishu says so (429), and the client waits and tries again.
    emulator.clear_calls()
    code, out, err = import_here("accounts.csv")
    assert (code, out) == (1, first.stdout)
    assert all("request trigger frequency limit" in line for line in err.splitlines()), err
    answered = [c for c in emulator.calls_for("get_account_assets") if c.status != 429]
    assert sorted(c.query["referral_account_id"] for c in answered) == sorted(ids)
    after = records(tmp_path)
    assert after.keys() == before.keys()
    for account_id, row in after.items():
        # Only when it was last seen moves; registered_at and the rest stay as they were.
        assert row["seen_at"] >= before[account_id]["seen_at"]
        assert {**row, "seen_at": None} == {**before[account_id], "seen_at": None}


def test_only_known_ids_exit_0(emulator, tmp_path, import_here):
    ids = add_accounts(emulator, 3)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    assert import_here("ids.txt") == (0, "imported 3 of 3 accounts\n", "")
    assert set(records(tmp_path)) == set(ids)


def test_a_cell_that_is_not_an_id_is_listed_and_not_sent(emulator, tmp_path, import_here):
    [account_id] = add_accounts(emulator, 1)
    (tmp_path / "ids.txt").write_text(f"{account_id}\n6.9E+18\n", encoding="utf-8")
    code, out, _ = import_here("ids.txt")
    assert (code, out) == (1, "imported 1 of 2 accounts; 1 not an account ID:\n6.9E+18\n")
    assert len(emulator.calls_for("get_account_assets")) == 1


def test_other_failures_are_listed_with_their_reason(emulator, tmp_path):
    failing, fine = add_accounts(emulator, 2)
    settings = make_settings(emulator, str(tmp_path / "bot.db"))
    cache = TokenCache()
    api = OpenApi(build_client(settings, cache), cache, retry=RetryPolicy(2, base_delay=0.01))
    book = AccountBook(Database(settings.db_path))
    emulator.fail_next("get_account_assets", n=2, kind="5xx")  # the first ID, and its retry
    done: list[str] = []

    result = import_accounts(
        [failing, "x1", fine], ReferralGateway(api), book, threads=1, on_done=done.append
    )

    assert result.imported == [fine]
    assert [account_id for account_id, _ in result.failed] == [failing]
    assert "(code " in result.failed[0][1]
    assert result.not_ids == ["x1"] and result.not_found == []
    assert not result.complete
    assert sorted(done) == sorted([failing, "x1", fine])
    assert book.get(failing) is None and book.get(fine) is not None


def test_a_file_without_ids_exits_2(emulator, tmp_path, import_here):
    (tmp_path / "empty.csv").write_text("\ufeffaccount_id\n\n", encoding="utf-8")
    assert import_here("empty.csv") == (2, "", "referral-bot: no account IDs in empty.csv\n")
    assert emulator.calls == []


def test_a_missing_file_exits_2_with_one_line(emulator, tmp_path):
    done = run_import(emulator, tmp_path, "missing.csv")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "referral-bot: missing.csv does not exist\n"  # one line, no traceback
    assert emulator.calls == []


def test_bad_settings_exit_2_with_one_line(emulator, tmp_path):
    (tmp_path / "ids.txt").write_text("6901\n", encoding="utf-8")
    (tmp_path / "app.yaml").write_text("NOT_A_SETTING: 1\n", encoding="utf-8")
    done = run_import(emulator, tmp_path, "ids.txt")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "referral-bot: config file app.yaml has an unknown setting 'NOT_A_SETTING'\n"
    )
