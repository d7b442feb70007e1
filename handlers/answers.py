"""Open API failures in plain words for the person who asked."""

from __future__ import annotations

from bot.feishu.contacts import INVALID_USER_ID, OUTSIDE_CONTACT_RANGE
from bot.feishu.openapi import TOKEN_CODES, OpenApiError
from bot.feishu.referral import (
    ACCOUNT_DISABLED,
    ACCOUNT_NOT_FOUND,
    BAD_PARAMETER,
    SERVER_ERROR,
    USER_NOT_FOUND,
    USER_NOT_UNIQUE,
)
from cards.text import Text

# "Access denied. One of the following scopes is required: [...]"
NO_PERMISSION = 99991672

EXPLANATIONS: dict[int, Text] = {
    USER_NOT_FOUND: Text(
        "No employee has this email or mobile number. Check it and try again.",
        "没有员工使用这个邮箱或手机号，请核对后重试。",
    ),
    USER_NOT_UNIQUE: Text(
        "More than one employee matches. Register with the other contact (email or mobile).",
        "匹配到多名员工，请改用另一种联系方式（邮箱或手机号）注册。",
    ),
    ACCOUNT_NOT_FOUND: Text(
        "There is no referral account with this ID.",
        "不存在这个 ID 的内推账户。",
    ),
    OUTSIDE_CONTACT_RANGE: Text(
        "This person is outside the app's contact range. In the developer console, widen "
        "the app's contact range (Permissions & Scopes → contact range) to include them.",
        "此人不在应用的通讯录权限范围内。请在开发者后台扩大应用的通讯录权限范围以包含此人。",
    ),
    INVALID_USER_ID: Text("Feishu does not know this person.", "飞书中找不到此人。"),
    ACCOUNT_DISABLED: Text(
        "The account is disabled, and a disabled account cannot withdraw. Enable it first.",
        "该账户已停用，停用的账户不能提取，请先启用。",
    ),
    BAD_PARAMETER: Text(
        "Feishu refused the request as invalid. Check the value and try again.",
        "飞书认为请求参数有误，请核对后重试。",
    ),
    SERVER_ERROR: Text(
        "Feishu had a server error. Nothing was changed; try again in a few minutes.",
        "飞书服务端出错，未做任何更改，请几分钟后重试。",
    ),
}


def explain(error: OpenApiError) -> Text:
    """What went wrong, for a chat answer; with Feishu's log id when there is one."""
    if error.code in EXPLANATIONS:
        text = EXPLANATIONS[error.code]
    elif error.rate_limited:
        text = Text(
            "Feishu is busy (rate limit) and kept refusing after several tries. "
            "Try again in a minute.",
            "飞书繁忙（频率限制），多次重试仍未成功，请一分钟后重试。",
        )
    elif error.code == NO_PERMISSION:
        text = Text(
            f"The app lacks a permission Feishu requires for this: {error.msg} "
            "Add it in the developer console (Permissions & Scopes) and publish a version.",
            f"应用缺少飞书要求的权限：{error.msg} 请在开发者后台（权限管理）添加并发布新版本。",
        )
    elif error.code in TOKEN_CODES:
        text = Text(
            "Feishu refused the bot's credentials. Ask whoever runs the bot to check "
            "LARK_APP_ID and LARK_APP_SECRET.",
            "飞书拒绝了机器人的凭证，请联系管理员检查 LARK_APP_ID 与 LARK_APP_SECRET。",
        )
    elif error.code is None:
        text = Text(
            "Feishu could not be reached or did not answer in time. Try again in a minute.",
            "无法连接飞书或飞书未及时响应，请一分钟后重试。",
        )
    else:
        text = Text(
            f"Feishu answered with error {error.code}: {error.msg}",
            f"飞书返回错误 {error.code}：{error.msg}",
        )
    if error.log_id:
        text = text + Text.same(f" (log id {error.log_id})")
    return text
