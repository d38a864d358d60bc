"""`manage.py seed_demo [--reset]`: the demo city, its compounds and one login per role."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand

from anfang.core import demo


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


class Command(BaseCommand):
    help = "Create (or complete) the demo data; running it twice changes nothing. --reset wipes the demo first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo organisations, compounds and users first"
        )

    def handle(self, *args: Any, reset: bool = False, **options: Any) -> None:
        started = time.perf_counter()
        if reset:
            demo.reset()
            self.stdout.write("已清除演示数据。")
        result = demo.seed()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"演示数据：新建小区 {len(result.created)} 个，已存在 {len(result.existing)} 个（{elapsed:.1f} s）。"
        )
        rows = [("用户名", "密码", "角色", "范围")]
        rows += [(username, demo.DEMO_PASSWORD, role, scope) for username, role, scope in demo.login_table()]
        self.stdout.write(format_table(rows))
