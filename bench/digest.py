"""How close a 300-account digest comes to the floor Feishu's rate limit sets.

The emulator enforces 10 get_account_assets per second, as Feishu does; 300 accounts cannot be
read faster than 30 s. Prints the digest's wall time against that floor and how many answers
were rate-limit refusals (429). Aim: at most 1.1x the floor, no refusals.

    .venv/bin/python bench/digest.py [--accounts 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import ReferralBot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.accounts import Account, AccountStatus  # noqa: E402
from bot.emulator import Emulator  # noqa: E402

LIMIT, WINDOW = 10, 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    args = parser.parse_args()
    emulator = Emulator(
        app_id=f"cli_{uuid.uuid4().hex[:12]}",
        app_secret="bench-secret",
        rate_limits={"get_account_assets": (LIMIT, WINDOW)},
    ).start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            app_id=emulator.app_id,
            app_secret=emulator.app_secret,
            encrypt_key="",
            allow_unsigned=True,  # nothing is pushed to it here
            verification_token="bench",
            domain=emulator.url,
            host="127.0.0.1",
            port=0,
            db_path=str(Path(tmp) / "bench.db"),
            admins=frozenset(),
            digest_cron="0 9 * * 1-5",
            digest_tz="Asia/Shanghai",
            digest_chats=("oc_bench",),
        )
        bot = ReferralBot(settings)
        for i in range(args.accounts):
            account_id = emulator.create_account(f"ou_bench{i}")
            bot.services.accounts.remember(Account(account_id, AccountStatus.ENABLED))
        try:
            started = time.monotonic()
            card = bot.digest.card_for_chat("oc_bench")
            wall = time.monotonic() - started
        finally:
            bot.database.close()
            emulator.stop()
    calls = emulator.calls_for("get_account_assets")
    refused = sum(1 for call in calls if call.status == 429)
    ok = sum(1 for call in calls if call.status == 200)
    floor = args.accounts * WINDOW / LIMIT
    ratio = wall / floor
    print(f"accounts            {args.accounts}")
    print(f"answered 200        {ok}")
    print(f"rate-limited (429)  {refused}")
    print(f"wall time           {wall:.2f} s")
    print(f"floor ({LIMIT}/s)        {floor:.2f} s")
    print(f"ratio               {ratio:.3f}x (aim <= 1.1x)")
    print(f"card size           {len(str(card).encode())} bytes (repr)")
    return 0 if ratio <= 1.1 and refused == 0 and ok == args.accounts else 1


if __name__ == "__main__":
    sys.exit(main())
