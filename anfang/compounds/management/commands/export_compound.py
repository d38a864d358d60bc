"""`manage.py export_compound <pk> <file> [--user <username>]`: the page's export, from a shell.
Without --user the export runs as the system (a shell user can read the database anyway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anfang.compounds.importexport import export_compound, to_bytes
from anfang.compounds.models import Compound


class Command(BaseCommand):
    help = "Export a compound's registry to an .xlsx workbook in the import layout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pk", type=int)
        parser.add_argument("file")
        parser.add_argument("--user", help="export within this user's scope")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no such user: {options['user']}")
        compound = Compound.objects.filter(pk=options["pk"]).first()
        if compound is None:
            raise CommandError(f"no compound {options['pk']}")
        try:
            workbook = export_compound(user, compound)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        Path(options["file"]).write_bytes(to_bytes(workbook))
        self.stdout.write(self.style.SUCCESS(f"exported {compound.name} to {options['file']}"))
