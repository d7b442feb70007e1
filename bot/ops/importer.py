"""`referral-bot import`: bring accounts that already exist in Feishu Hire into the bot's records.

The file holds account IDs, one a line, or as the first column of a CSV. Each ID is fetched
with get_account_assets (under the gateway's rate limit) and remembered with its referrer. An
ID Feishu does not know (1002553) is reported, not an error of the run; a cell that is not an
account ID at all is reported and never sent. Importing the same file again only refreshes the
balances: `AccountBook.remember` is an upsert that keeps what the bot already knew.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bot.domain.accounts import Account
from bot.feishu.openapi import OpenApiError
from bot.feishu.ratelimit import Priority
from bot.feishu.referral import ACCOUNT_NOT_FOUND, ReferralGateway
from bot.records.database import ERRORS as DB_ERRORS
from bot.records.store import AccountBook

log = logging.getLogger(__name__)

# Enough threads to keep the rate limiter's 10 slots a second busy while answers are in
# flight (one thread would wait out every round trip); more would only queue on the limiter.
IMPORT_THREADS = 6

ACCOUNT_ID = re.compile(r"[0-9]+")  # not \d, which takes full-width digits too

# What came of one ID.
IMPORTED, NOT_FOUND, FAILED = "imported", "not found", "failed"


def is_account_id(cell: str) -> bool:
    """Feishu's referral account IDs are decimal digits (e.g. 6942778198054125570)."""
    return ACCOUNT_ID.fullmatch(cell) is not None


def read_account_ids(text: str) -> list[str]:
    """The first-column cells of a list of IDs or a CSV, in file order, each once.

    Blank lines, surrounding whitespace and quotes and a UTF-8 BOM are ignored. The first
    non-blank row is a header (and skipped) when its first cell is not digits. Cells of later
    rows are returned even when they are not digits, so the caller can report them; check
    them with `is_account_id`.
    """
    cells: list[str] = []
    seen: set[str] = set()
    first = True
    for row in csv.reader(text.removeprefix("\ufeff").splitlines()):
        cell = row[0].strip().strip("\"'").strip() if row else ""
        if not cell:
            continue
        if first:
            first = False
            if not is_account_id(cell):
                continue
        if cell not in seen:
            seen.add(cell)
            cells.append(cell)
    return cells


@dataclass
class ImportResult:
    """What an import did, each list in file order."""

    imported: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)  # Feishu's 1002553
    failed: list[tuple[str, str]] = field(default_factory=list)  # (ID, reason)
    not_ids: list[str] = field(default_factory=list)  # cells that are not account IDs

    @property
    def total(self) -> int:
        return len(self.imported) + len(self.not_found) + len(self.failed) + len(self.not_ids)

    @property
    def complete(self) -> bool:
        """Every entry was an account and got imported."""
        return len(self.imported) == self.total

    def summary(self) -> str:
        """The report printed at the end: a count line, then each kind of miss with its
        entries one a line. The first kind's heading ends the count line."""
        sections = [
            (f"{len(self.not_found)} not found:", self.not_found),
            (
                f"{len(self.failed)} could not be fetched:",
                [f"{account_id}: {reason}" for account_id, reason in self.failed],
            ),
            (
                f"{len(self.not_ids)} not an account ID:"
                if len(self.not_ids) == 1
                else f"{len(self.not_ids)} not account IDs:",
                self.not_ids,
            ),
        ]
        lines = [f"imported {len(self.imported)} of {self.total} accounts"]
        for heading, entries in sections:
            if not entries:
                continue
            if len(lines) == 1:
                lines[0] += f"; {heading}"
            else:
                lines.append(heading)
            lines.extend(entries)
        return "\n".join(lines)


def import_accounts(
    cells: Sequence[str],
    gateway: ReferralGateway,
    accounts: AccountBook,
    *,
    threads: int = IMPORT_THREADS,
    on_done: Callable[[str], None] | None = None,
) -> ImportResult:
    """Fetch each account ID among `cells` and remember it; `on_done(cell)` after each cell,
    for a progress bar. The records are written from this thread, as answers come in."""
    result = ImportResult(not_ids=[cell for cell in cells if not is_account_id(cell)])
    for cell in result.not_ids:
        if on_done is not None:
            on_done(cell)
    ids = [cell for cell in cells if is_account_id(cell)]
    outcomes: dict[str, tuple[str, str]] = {}  # ID -> (imported | not_found | failed, reason)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="import-fetch")
    try:
        futures: dict[Future[Account], str] = {
            pool.submit(gateway.get_assets, account_id, priority=Priority.BACKGROUND): account_id
            for account_id in ids
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                account_id = futures[future]
                outcomes[account_id] = _take(future, accounts)
                if on_done is not None:
                    on_done(account_id)
    finally:
        # On Ctrl-C the fetches not yet begun are dropped; what was remembered stays, and
        # running the import again does the rest.
        pool.shutdown(wait=False, cancel_futures=True)
    for account_id in ids:
        kind, reason = outcomes[account_id]
        if kind == IMPORTED:
            result.imported.append(account_id)
        elif kind == NOT_FOUND:
            result.not_found.append(account_id)
        else:
            result.failed.append((account_id, reason))
    return result


def _take(future: Future[Account], accounts: AccountBook) -> tuple[str, str]:
    """Remember a fetched account: what came of it, and why when it was not imported."""
    try:
        account = future.result()
    except OpenApiError as exc:
        if exc.code == ACCOUNT_NOT_FOUND:
            return NOT_FOUND, exc.msg
        return FAILED, _reason(exc)
    try:
        accounts.remember(account)
    except DB_ERRORS as exc:  # a sick database fails this account, not the whole run
        log.error("account %s fetched but not saved: %s", account.account_id, exc)
        return FAILED, f"fetched but not saved: {exc}"
    return IMPORTED, ""


def _reason(exc: OpenApiError) -> str:
    reason = exc.msg or "no message"
    if exc.code is not None:
        reason += f" (code {exc.code})"
    return reason
