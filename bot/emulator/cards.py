"""What Feishu checks in a card JSON 2.0 before it takes it: at most 200 elements, no property a
component does not have, and a chart with its spec and one of the listed aspect ratios.

Element counting follows Feishu's rule as the docs state it: every object with a `tag` counts,
the header's texts, `plain_text` labels and columns included. The property tables are the ones
in Feishu's component pages ("卡片 JSON 2.0 结构" and each component's page) for the tags the bot
uses and their close relatives; a tag not listed here is let through unchecked. The error codes
follow the issue threads (230099 "Failed to create card content", the inner `ErrCode: 11310`
"... number over limit"); Feishu's exact wording for elements and for properties is not
confirmed.
"""

from __future__ import annotations

from typing import Any

from .protocol import ApiError

MAX_ELEMENTS = 200
CARD_CONTENT_FAILED = 230099
ELEMENT_OVER_LIMIT = 11310  # the inner ErrCode Feishu puts in the message's ext
PROPERTY_INVALID = 11246  # emulator choice: the inner code for an unknown property

_COMMON = {"tag", "element_id", "margin"}
_TEXT = {"tag", "content", "i18n_content", "text_size", "text_color", "text_align", "lines"}
PROPERTIES: dict[str, frozenset[str]] = {
    tag: frozenset(props)
    for tag, props in {
        "plain_text": _TEXT,
        "lark_md": _TEXT,
        "markdown": _COMMON
        | {"content", "i18n_content", "text_size", "text_align", "text_color", "icon", "href"},
        "div": _COMMON | {"width", "text", "icon"},
        "hr": _COMMON,
        "text_tag": {"tag", "element_id", "text", "color"},
        "standard_icon": {"tag", "token", "color", "size"},
        "button": _COMMON
        | {
            "type",
            "size",
            "width",
            "text",
            "icon",
            "hover_tips",
            "disabled",
            "disabled_tips",
            "confirm",
            "behaviors",
            "name",
            "form_action_type",
        },
        "column_set": _COMMON
        | {
            "horizontal_spacing",
            "horizontal_align",
            "flex_mode",
            "background_style",
            "columns",
            "action",
        },
        "column": _COMMON
        | {
            "background_style",
            "width",
            "weight",
            "vertical_align",
            "vertical_spacing",
            "horizontal_spacing",
            "horizontal_align",
            "direction",
            "padding",
            "elements",
            "action",
        },
        "chart": _COMMON | {"aspect_ratio", "chart_spec", "color_theme", "preview", "height"},
        "img": _COMMON
        | {
            "img_key",
            "alt",
            "title",
            "corner_radius",
            "scale_type",
            "size",
            "transparent",
            "preview",
        },
        "table": _COMMON
        | {
            "page_size",
            "row_height",
            "row_max_height",
            "freeze_first_column",
            "header_style",
            "columns",
            "rows",
        },
        "form": _COMMON
        | {
            "name",
            "elements",
            "direction",
            "vertical_spacing",
            "horizontal_spacing",
            "horizontal_align",
            "vertical_align",
            "padding",
        },
    }.items()
}
# The chart component's `aspect_ratio` values and its one required property (the JSON 2.0 chart
# page: https://open.feishu.cn/document/feishu-cards/card-json-v2-components/content-components/chart).
CHART_ASPECT_RATIOS = frozenset({"1:1", "2:1", "4:3", "16:9"})
HEADER = frozenset(
    {"title", "subtitle", "template", "icon", "text_tag_list", "i18n_text_tag_list", "padding"}
)
TOP = frozenset({"schema", "config", "card_link", "header", "body"})
# Card JSON 1.0 tags that 2.0 no longer has.
V1_ONLY = frozenset({"note", "action"})
V1_GONE = 200861


def element_count(card: dict[str, Any]) -> int:
    """Every object with a `tag`, anywhere in the card (a chart counts as one)."""
    return len(_components(card))


def _failed(inner: int, message: str, value: str) -> ApiError:
    return ApiError(
        400,
        CARD_CONTENT_FAILED,
        f"Failed to create card content, ext=ErrCode: {inner}; ErrMsg: {message}; "
        f"ErrorValue: {value}; ",
    )


def _components(node: Any) -> list[dict[str, Any]]:
    """The tagged objects of a card, not looking inside a chart's spec (VChart's own JSON)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "tag" in node:
            found.append(node)
        for key, value in node.items():
            if node.get("tag") == "chart" and key == "chart_spec":
                continue
            found.extend(_components(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_components(item))
    return found


def check(card: dict[str, Any]) -> None:
    """Refuse a card JSON 2.0 Feishu would refuse; a 1.0 card is not checked here."""
    if str(card.get("schema", "")) != "2.0":
        return
    count = element_count(card)
    if count > MAX_ELEMENTS:
        raise _failed(ELEMENT_OVER_LIMIT, "card element number over limit", f"{count} elements")
    unknown = set(card) - TOP
    if unknown:
        raise _failed(PROPERTY_INVALID, "unknown property", ", ".join(sorted(unknown)))
    header = card.get("header")
    if isinstance(header, dict) and set(header) - HEADER:
        raise _failed(
            PROPERTY_INVALID,
            "unknown property",
            "header." + ", ".join(sorted(set(header) - HEADER)),
        )
    for component in _components(card):
        tag = component["tag"]
        if tag in V1_ONLY:
            raise ApiError(400, V1_GONE, f"tag {tag} is not supported in card json 2.0")
        allowed = PROPERTIES.get(tag)
        if allowed is None:
            continue
        extra = set(component) - allowed
        if extra:
            raise _failed(
                PROPERTY_INVALID, "unknown property", f"{tag}." + ", ".join(sorted(extra))
            )
        if tag == "chart":
            _check_chart(component)


def _check_chart(chart: dict[str, Any]) -> None:
    """A chart needs its VChart spec, and takes only the aspect ratios Feishu lists."""
    if not isinstance(chart.get("chart_spec"), dict):
        raise _failed(PROPERTY_INVALID, "chart_spec is required", "chart.chart_spec")
    ratio = chart.get("aspect_ratio")
    if ratio is not None and ratio not in CHART_ASPECT_RATIOS:
        raise _failed(PROPERTY_INVALID, "invalid aspect_ratio", f"chart.aspect_ratio: {ratio}")
