"""Rule packs register themselves with the engine when imported."""

from . import gb_advisory, yingkou_2015  # noqa: F401
