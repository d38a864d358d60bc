"""Rule packs register themselves with the engine when imported."""

from . import yingkou_2015  # noqa: F401
