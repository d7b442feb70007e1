"""`referral-bot doctor`: check a deployment, one line per check, each "ok" or what to fix."""

from bot.ops.doctor.runner import Check, line, run_doctor

__all__ = ["Check", "line", "run_doctor"]
