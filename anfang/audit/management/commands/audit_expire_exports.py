"""Expire approved exports past their validity and delete their files (Art 33(5)); for the scheduler."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from anfang.audit.services import expire_exports


class Command(BaseCommand):
    help = "Expire approved exports past their validity and delete their files."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"expired {expire_exports()} export(s)")
