"""GET /metrics: Prometheus text, read back with prometheus_client's own parser."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import OUTSIDER, Feishu


def scrape(bot) -> dict[tuple[str, tuple], float]:
    response = requests.get(bot.url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_events_commands_calls_and_records(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    event = lark.message(f"/referral show {account_id}")
    lark.push(event)
    lark.push(event)  # delivered again
    lark.reply_to(event["event"]["message"]["message_id"])
    lark.ask("/referral list", open_id=OUTSIDER)
    shown = lark.ask(f"/referral show {account_id}")
    lark.press(shown, {"action": "disable", "account_id": account_id})

    samples = scrape(bot)
    message = "im.message.receive_v1"
    assert value(samples, "referral_bot_events_received_total", type=message) == 4
    assert value(samples, "referral_bot_events_acknowledged_total", type=message) == 3
    assert value(samples, "referral_bot_events_deduplicated_total", type=message) == 1
    assert value(samples, "referral_bot_commands_total", command="show", outcome="ok") == 2
    assert value(samples, "referral_bot_commands_total", command="list", outcome="refused") == 1
    assert value(samples, "referral_bot_button_presses_total", action="disable", outcome="ok") == 1
    calls = value(
        samples, "referral_bot_openapi_calls_total", operation="get_account_assets", outcome="ok"
    )
    assert calls == len(emulator.calls_for("get_account_assets"))
    assert value(samples, "referral_bot_openapi_latency_seconds_count", operation="deactivate") == 1
    assert value(samples, "referral_bot_inbox_events", state="done") >= 3
    assert value(samples, "referral_bot_connection_up", transport="webhook") == 1


def test_a_failed_call_is_counted_by_its_code(lark: Feishu, emulator, bot):
    lark.ask("/referral show 123")
    samples = scrape(bot)
    assert (
        value(
            samples,
            "referral_bot_openapi_calls_total",
            operation="get_account_assets",
            outcome="1002553",
        )
        == 1
    )
