"""Indexes for the plate search (vehicles.search), PostgreSQL only; SQLite keeps the model's own.

- trigram GIN on `plate` and `plate_skeleton`: contains / wildcard / fuzzy-with-wildcards (LIKE and
  regular expressions use them whatever the position of the known characters);
- btree (plate_skeleton, received_at): fuzzy search without wildcards is an equality;
- btree (confirmed_plate, received_at), partial: the exact search also finds a guard's correction.
Prefix search uses the model's (plate, received_at) btree: the database collation is C, so LIKE
'京A12%' is a range scan on it. Created on the partitioned parent: every day partition, present and
future, gets them."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS passage_plate_trgm ON vehicles_passage USING gin (plate gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS passage_skeleton_trgm ON vehicles_passage USING gin (plate_skeleton gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS passage_skeleton_received ON vehicles_passage (plate_skeleton, received_at)",
    "CREATE INDEX IF NOT EXISTS passage_confirmed_received ON vehicles_passage (confirmed_plate, received_at) "
    "WHERE confirmed_plate <> ''",
]
BACKWARD = [
    "DROP INDEX IF EXISTS passage_confirmed_received",
    "DROP INDEX IF EXISTS passage_skeleton_received",
    "DROP INDEX IF EXISTS passage_skeleton_trgm",
    "DROP INDEX IF EXISTS passage_plate_trgm",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("vehicles", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
