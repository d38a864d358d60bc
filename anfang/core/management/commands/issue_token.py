"""`manage.py issue_token <username> <name>`: issue an API token for a user and print it once (only
its hash is stored). `manage.py issue_token <username> --revoke <prefix>` revokes that user's token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from anfang.core.models import ApiToken

RAW_PREFIX = "afg_"


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once), or revoke one by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", nargs="?", help="what the token is for, e.g. 'video-platform'")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the user's token with this prefix")

    def handle(self, *args: Any, username: str, name: str | None, revoke: str | None, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if revoke:
            self._revoke(user, revoke)
            return
        if not name:
            raise CommandError("Give the token a name, e.g. issue_token alice video-platform.")
        token, raw = ApiToken.issue(user, name)
        # The raw token alone on stdout (easy to pipe); the note on stderr.
        self.stderr.write(f"Token {token.name!r} for {username} (prefix {token.prefix}); it is shown only this once.")
        self.stdout.write(raw)

    def _revoke(self, user: Any, prefix: str) -> None:
        prefix = prefix.removeprefix(RAW_PREFIX)[:8]
        count = ApiToken.objects.filter(user=user, prefix=prefix, revoked_at=None).update(revoked_at=timezone.now())
        if not count:
            raise CommandError(f"No active token with prefix {prefix!r} for {user.get_username()}.")
        self.stdout.write(f"Revoked {count} token(s) with prefix {prefix}.")
