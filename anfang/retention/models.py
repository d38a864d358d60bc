"""Retention policies with legal floors, legal holds, purge, video retention evidence (Art 33(2))."""
