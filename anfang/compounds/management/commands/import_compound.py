"""`manage.py import_compound <file> [--into <pk>] --user <username>`: the page's import, from a shell."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anfang.compounds.importexport import import_workbook
from anfang.compounds.models import Compound


class Command(BaseCommand):
    help = "Import a compound registry workbook (.xlsx) as a new compound or into an existing one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--into", type=int, metavar="PK", help="existing compound to update")
        parser.add_argument("--user", required=True, help="acts as this user: their scope and history")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no such user: {options['user']}") from None
        compound = None
        if options["into"] is not None:
            compound = Compound.objects.visible_to(user).filter(pk=options["into"]).first()
            if compound is None:
                raise CommandError(f"no compound {options['into']} visible to {user}")
        try:
            result = import_workbook(user, options["file"], compound)
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "permission denied") from None
        if not result.ok:
            for issue in result.issues:
                self.stderr.write(str(issue))
            raise CommandError(f"nothing imported: {len(result.issues)} problem(s)")
        for sheet, counts in result.counts.items():
            self.stdout.write(f"{sheet}: +{counts.created} ~{counts.updated} ={counts.unchanged}")
        assert result.compound is not None
        self.stdout.write(self.style.SUCCESS(f"imported compound {result.compound.pk} {result.compound.name}"))
