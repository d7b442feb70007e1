"""The emulator refuses, as Feishu does, a card JSON 2.0 of more than 200 elements or 30 KB,
and a component property 2.0 does not have: on send, reply, patch and the delayed update."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.emulator import Emulator
from bot.emulator.cards import element_count

from .conftest import Api

MESSAGES = "/open-apis/im/v1/messages"
CARD_UPDATE = "/open-apis/interactive/v1/card/update"


def card(*elements: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": "t"}, "template": "blue"},
        "body": {"elements": list(elements) or [{"tag": "markdown", "content": "x"}]},
    }


def hrs(total: int) -> dict[str, Any]:
    """A card of exactly `total` elements (the header's title is one)."""
    return card(*[{"tag": "hr"} for _ in range(total - 1)])


def send(api: Api, content: dict) -> Any:
    body = {"receive_id": "oc_a", "msg_type": "interactive", "content": json.dumps(content)}
    return api.post(MESSAGES, params={"receive_id_type": "chat_id"}, json=body)


def refused_for_elements(resp: Any) -> bool:
    body = resp.json()
    return resp.status_code == 400 and body["code"] == 230099 and "11310" in body["msg"]


def test_elements_are_counted_the_way_feishu_counts_them():
    button = {"tag": "button", "text": {"tag": "plain_text", "content": "b"}}
    columns = {"tag": "column_set", "columns": [{"tag": "column", "elements": [button]}]}
    assert element_count(card(columns)) == 1 + 4  # title, column_set, column, button, label
    chart = {"tag": "chart", "chart_spec": {"type": "line", "data": {"values": [{"tag": 1}]}}}
    assert element_count(card(chart)) == 2  # a chart is one, whatever its spec holds


def test_200_elements_are_taken_201_refused_on_send_and_reply(emu: Emulator, api: Api):
    assert send(api, hrs(200)).json()["code"] == 0
    assert refused_for_elements(send(api, hrs(201)))
    reply = api.post(
        f"{MESSAGES}/om_user1/reply",
        json={"msg_type": "interactive", "content": json.dumps(hrs(201))},
    )
    assert refused_for_elements(reply)
    assert len(emu.messages) == 1


def test_patch_and_delayed_update_are_checked_too(emu: Emulator, api: Api):
    mid = send(api, card()).json()["data"]["message_id"]
    patched = api.patch(f"{MESSAGES}/{mid}", json={"content": json.dumps(hrs(201))})
    assert refused_for_elements(patched)
    token = emu.issue_card_token(mid)
    assert refused_for_elements(api.post(CARD_UPDATE, json={"token": token, "card": hrs(201)}))
    assert emu.card_update_tokens[token].uses == 0  # a refused update spends no use
    oversized = card({"tag": "markdown", "content": "x" * 31 * 1024})
    assert api.post(CARD_UPDATE, json={"token": token, "card": oversized}).json()["code"] == 230025
    assert send(api, oversized).json()["code"] == 230025
    assert emu.message(mid).updates == []


@pytest.mark.parametrize(
    "element",
    [
        {
            "tag": "button",
            "text": {"tag": "plain_text", "content": "b"},
            "value": {"a": 1},
            "url": "https://x",
        },
        {"tag": "markdown", "content": "x", "i18n_elements": {}},
        {"tag": "hr", "text": {"tag": "plain_text", "content": "x"}},
        {"tag": "column_set", "columns": [{"tag": "column", "elements": [], "colour": "red"}]},
        {"tag": "div", "text": {"tag": "plain_text", "content": "x", "bold": True}},
    ],
)
def test_a_property_the_component_does_not_have_is_refused(api: Api, element):
    resp = send(api, card(element))
    assert resp.status_code == 400 and resp.json()["code"] == 230099, resp.text


@pytest.mark.parametrize(
    "chart",
    [
        {"tag": "chart", "aspect_ratio": "2:1"},  # no spec
        {"tag": "chart", "chart_spec": "line"},
        {"tag": "chart", "aspect_ratio": "3:1", "chart_spec": {"type": "line"}},
    ],
)
def test_a_chart_without_its_spec_or_with_an_unlisted_ratio_is_refused(api: Api, chart):
    resp = send(api, card(chart))
    assert resp.status_code == 400 and resp.json()["code"] == 230099, resp.text


def test_v1_tags_and_unknown_card_properties_are_refused(api: Api):
    assert send(api, card({"tag": "note", "elements": []})).json()["code"] == 200861
    assert send(api, {**card(), "i18n_elements": {}}).json()["code"] == 230099
    assert (
        send(
            api,
            {**card(), "header": {"title": {"tag": "plain_text", "content": "t"}, "colour": "red"}},
        ).json()["code"]
        == 230099
    )


def test_what_the_bot_emits_is_taken(api: Api):
    label = {"tag": "plain_text", "content": "b", "i18n_content": {"en_us": "b", "zh_cn": "b"}}
    button = {
        "tag": "button",
        "element_id": "btn",
        "text": label,
        "type": "primary",
        "behaviors": [{"type": "callback", "value": {"action": "x"}}],
        "confirm": {"title": label, "text": label},
    }
    row = {
        "tag": "column_set",
        "horizontal_spacing": "8px",
        "columns": [
            {
                "tag": "column",
                "width": "weighted",
                "weight": 1,
                "vertical_align": "center",
                "elements": [{"tag": "markdown", "content": "x", "text_size": "notation"}],
            },
            {"tag": "column", "width": "auto", "elements": [button]},
        ],
    }
    chart = {"tag": "chart", "aspect_ratio": "16:9", "chart_spec": {"type": "line"}}
    small = {"tag": "chart", "element_id": "chart_points", "aspect_ratio": "2:1", "chart_spec": {}}
    document = card(row, {"tag": "hr"}, {"tag": "div", "text": label}, chart, small)
    document["header"]["text_tag_list"] = [{"tag": "text_tag", "text": label, "color": "green"}]
    document["header"]["subtitle"] = label
    document["config"]["locales"] = ["zh_cn", "en_us"]
    assert send(api, document).json()["code"] == 0
