"""Evidence lines: written once by the rules, stored language-neutral, shown in the reader's language.

A rule's evidence is a list of lines. A line is either

- a `str`: a fixed message (a zh-Hans msgid, translated when shown) or free text that has no
  translation (an exception, a note a later module wrote) and is shown as it is; or
- a message with parameters, the tuple `(template, params)`: `template` is a zh-Hans msgid with
  `{name}` placeholders; each parameter is data (a name, a number: shown as it is), a term (a
  translatable word, `term()`), a nested message, or a list of those (joined with "、"; in
  English ", ").

`_()` makes a line and marks its template for `makemessages`, the way `gettext_noop` does: the
rules stay as readable as f-strings, nothing is formatted or translated while a city is
assessed, and the stored form is the same tuple as JSON (`[template, {params}]`). So a past
report reads in zh-Hans exactly as it was written and in English through the catalogue;
`render()` turns a line into text in the active language. A parameter JSON cannot hold (a
Decimal, a date) is stored as its text."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext, gettext_noop

SEPARATOR = gettext_noop("、")  # between the items of a list parameter
Line = Any  # str | tuple[str, dict[str, Any]] (a list instead of the tuple once read from JSON)


def _(template: str, **params: Any) -> Line:
    """A line: the template alone when it has no parameters."""
    return (template, params) if params else template


def term(word: str) -> tuple[str, dict[str, Any]]:
    """A translatable word used as a parameter (a plain `str` parameter is data, shown as is).
    Mark the word where it is defined with `gettext_noop`."""
    return (word, {})


def is_message(value: Any) -> bool:
    return type(value) in (tuple, list) and len(value) == 2 and type(value[1]) is dict


def render(line: Line, translate: Callable[[str], str] = gettext) -> str:
    """The line as text in the active language (or through `translate`)."""
    if type(line) is str:
        return translate(line) if line else line
    if not is_message(line):
        return str(line)
    template, params = line
    values = {name: _value(v, translate) for name, v in params.items()}
    try:
        return translate(template).format_map(values)
    except (KeyError, IndexError, ValueError):  # a broken translation must not hide the finding
        return template.format_map(values)


def render_all(lines: Iterable[Line], translate: Callable[[str], str] = gettext) -> list[str]:
    return [render(line, translate) for line in lines]


def _value(value: Any, translate: Callable[[str], str]) -> str:
    if type(value) in (tuple, list):
        if is_message(value):
            return render(value, translate)
        return translate(SEPARATOR).join(_value(v, translate) for v in value)
    return "" if value is None else str(value)


def zh(line: Line) -> str:
    """The line as the rules wrote it (zh-Hans), whatever language is active."""
    return render(line, str)
