"""Cell parsers: turn whatever a spreadsheet cell holds into a model value, or raise CellError
with a message a property clerk can act on. They never raise anything else."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _


class CellError(ValueError):
    """A cell that cannot be read; the message says why, in the user's language (zh-Hans)."""


TRUE_WORDS = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "✔"})
FALSE_WORDS = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "✗", "✘"})
MAX_TEXT = 10_000  # longer than any field; stops pathological cells early


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _shown(raw: Any, limit: int = 20) -> str:
    text = str(raw)
    return text if len(text) <= limit else text[:limit] + "…"


def _number_text(raw: Any) -> str:
    """Text of a number as typed, full-width digits and separators (１２．５，) made ASCII."""
    return unicodedata.normalize("NFKC", str(raw)[:100]).strip().replace(",", "")


def parse_text(raw: Any) -> str:
    """Any cell as text; whole numbers typed into text columns (phone, serial) lose the '.0'."""
    if isinstance(raw, bool):
        return _("是") if raw else _("否")
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, dt.datetime):
        raw = raw.date() if raw.time() == dt.time(0) else raw
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise CellError(_("内容过长。"))
    return text


def parse_bool(raw: Any) -> bool:
    """是/否 (also 有/无, Y/N, TRUE/FALSE, 1/0, √/×). Blank cells are handled by the caller."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("“%(value)s”不是有效的是/否值，请填写“是”“否”或留空。") % {"value": _shown(raw)})


def parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise CellError(_("请填写整数。"))
    if isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer():
            return int(raw)
        raise CellError(_("“%(value)s”不是整数。") % {"value": _shown(raw)})
    if isinstance(raw, int):
        return raw
    text = _number_text(raw)
    if not re.fullmatch(r"[+-]?\d{1,18}(\.0*)?", text, flags=re.ASCII):
        raise CellError(_("“%(value)s”不是整数。") % {"value": _shown(raw)})
    return int(text.split(".")[0])


def parse_decimal(raw: Any, decimal_places: int | None = None) -> Decimal:
    """A number; quantized to the field's places when that loses nothing, so an unchanged value
    reads back equal to the stored one (and too many places are left for the model to refuse)."""
    if isinstance(raw, bool):
        raise CellError(_("请填写数字。"))
    text = repr(raw) if isinstance(raw, float) else _number_text(raw)
    if len(text) > 40:
        raise CellError(_("“%(value)s”不是有效的数字。") % {"value": _shown(raw)})
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise CellError(_("“%(value)s”不是有效的数字。") % {"value": _shown(raw)}) from None
    if not value.is_finite():
        raise CellError(_("“%(value)s”不是有效的数字。") % {"value": _shown(raw)})
    if decimal_places is not None and abs(value.adjusted()) < 30:
        quantum = Decimal(1).scaleb(-decimal_places)
        try:
            exact = value.quantize(quantum)
        except InvalidOperation:
            return value
        if exact == value:
            return exact
    return value


DATE_PATTERNS = (
    r"(\d{4})-(\d{1,2})-(\d{1,2})",
    r"(\d{4})/(\d{1,2})/(\d{1,2})",
    r"(\d{4})\.(\d{1,2})\.(\d{1,2})",
    r"(\d{4})年(\d{1,2})月(\d{1,2})日?",
    r"(\d{4})(\d{2})(\d{2})",
)


def parse_date(raw: Any) -> dt.date:
    """A date cell, or text like 2024-03-01, 2024/3/1, 2024年3月1日, 20240301."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _number_text(raw).split(" ")[0]
    for pattern in DATE_PATTERNS:
        match = re.fullmatch(pattern, text)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise CellError(_("“%(value)s”不是有效的日期，请按 2024-03-01 的格式填写。") % {"value": _shown(raw)})


def parse_choice(raw: Any, choices: Iterable[tuple[str, Any]]) -> str:
    """The zh label or the code of a choice (code case-insensitive)."""
    word = parse_text(raw)
    options = list(choices)
    for code, label in options:
        if word == str(label) or word.lower() == str(code).lower():
            return code
    allowed = "、".join(str(label) for _code, label in options)
    raise CellError(_("“%(value)s”不是可选值，可选：%(allowed)s。") % {"value": _shown(raw), "allowed": allowed})
