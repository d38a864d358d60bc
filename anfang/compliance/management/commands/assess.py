"""`manage.py assess [--compound ID | --station ID | --district ID | --all] [--pack NAME]`:
run the compliance rules (Art 5–16, 33) on active compounds and print a summary."""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anfang.compliance.engine import Status, cite, get_pack
from anfang.compliance.services import assess, tally
from anfang.compounds.models import Compound


class Command(BaseCommand):
    help = "Assess compounds against the Yingkou regulation and store the results."

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--compound", type=int, help="compound id")
        scope.add_argument("--station", type=int, help="police station organisation id")
        scope.add_argument("--district", type=int, help="district bureau organisation id")
        scope.add_argument("--all", action="store_true", help="every active compound of the city")
        parser.add_argument("--pack", default="yingkou_2015", help="rule pack name")

    def handle(self, *args, **opts) -> None:
        compounds = Compound.objects.active()
        if opts["compound"]:
            compounds, label = compounds.filter(pk=opts["compound"]), f"compound {opts['compound']}"
        elif opts["station"]:
            compounds, label = compounds.filter(police_station_id=opts["station"]), f"station {opts['station']}"
        elif opts["district"]:
            compounds = compounds.filter(police_station__parent_id=opts["district"])
            label = f"district {opts['district']}"
        else:
            label = "city"
        if not compounds.exists():
            raise CommandError("No active compound in that scope.")
        try:
            pack = get_pack(opts["pack"])
        except KeyError as exc:
            raise CommandError(f"Unknown rule pack {opts['pack']!r}.") from exc
        assessment = assess(None, compounds, pack, scope_label=label)
        finished = assessment.finished_at or assessment.started_at
        seconds = (finished - assessment.started_at).total_seconds()
        self.stdout.write(
            f"Assessment #{assessment.pk}: {assessment.compounds_count} compounds, "
            f"pack {pack.name} {pack.version}, {seconds:.2f} s"
        )
        self.stdout.write("  " + "  ".join(f"{s}={assessment.counts.get(str(s), 0)}" for s in Status))
        counted = tally(assessment.compound_results.all()).get(None, Counter())
        fails = {(article, clause): n for (article, clause, status), n in counted.items() if status == Status.FAIL}
        for (article, clause), n in sorted(fails.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
            self.stdout.write(f"  {cite(article, clause)}: {n} failing findings")
