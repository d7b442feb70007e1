"""`/referral reconcile [<from> <to>]`: the reconciliation report of a window, as the reply.

Admins only (the command runner checks). An Open API failure goes back to the runner: one that
may pass is retried with the whole command later, others are answered in plain words. Uncertain
withdrawals are settled first, so that the report counts what they turned out to be.
"""

from __future__ import annotations

from handlers import parser, payouts
from handlers.reconcile import reconcile_report
from handlers.registry import Asker, Reply, handles
from handlers.services import Services


@handles(parser.Reconcile)
def reconcile(services: Services, asker: Asker, command: parser.Reconcile) -> Reply:
    payouts.settle_all(services)
    card = reconcile_report(
        services.settings,
        services.withdrawals,
        services.gateway,
        command.start,
        command.end,
        services.accounts,
    )
    return Reply(card)
