"""Cheaper storage for city-wide assessments (bench/RESULTS.md):

- findings move from one row each (FindingRecord) into one JSON array per CompoundAssessment:
  assessing the city writes 1,500 rows instead of 43,500;
- a snapshot is stored as its canonical JSON text, no longer zlib + base64 in Python;
  PostgreSQL compresses it (TOAST, lz4 where the server was built with it), and the findings."""

import base64
import zlib

import django.db.models.deletion
from django.db import migrations, models


def rows_to_json(apps, schema_editor):
    CompoundAssessment = apps.get_model("compliance", "CompoundAssessment")
    FindingRecord = apps.get_model("compliance", "FindingRecord")
    grouped: dict[int, list[dict]] = {}
    for rec in FindingRecord.objects.order_by("id").iterator():
        grouped.setdefault(rec.compound_assessment_id, []).append(
            {
                "rule_id": rec.rule_id,
                "article": rec.article,
                "clause": rec.clause,
                "status": rec.status,
                "evidence": rec.evidence,
            }
        )
    for result in CompoundAssessment.objects.filter(pk__in=grouped):
        result.findings = grouped[result.pk]
        result.save(update_fields=["findings"])


def json_to_rows(apps, schema_editor):
    CompoundAssessment = apps.get_model("compliance", "CompoundAssessment")
    FindingRecord = apps.get_model("compliance", "FindingRecord")
    FindingRecord.objects.bulk_create(
        FindingRecord(compound_assessment_id=result.pk, **item)
        for result in CompoundAssessment.objects.exclude(findings=[])
        for item in result.findings
    )


def unpack_snapshots(apps, schema_editor):
    StoredSnapshot = apps.get_model("compliance", "StoredSnapshot")
    for snap in StoredSnapshot.objects.iterator():
        snap.data = zlib.decompress(base64.b64decode(snap.data)).decode()
        snap.save(update_fields=["data"])


def pack_snapshots(apps, schema_editor):
    StoredSnapshot = apps.get_model("compliance", "StoredSnapshot")
    for snap in StoredSnapshot.objects.iterator():
        snap.data = base64.b64encode(zlib.compress(snap.data.encode(), 1)).decode("ascii")
        snap.save(update_fields=["data"])


def lz4_on_postgresql(apps, schema_editor):
    """lz4 compresses the large values several times faster than the default pglz (PostgreSQL 14+,
    when the server was built with lz4; otherwise the default stays)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in (("compliance_storedsnapshot", "data"), ("compliance_compoundassessment", "findings")):
        schema_editor.execute(
            f"DO $$ BEGIN EXECUTE 'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4'; "
            "EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN NULL; END $$"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0001_initial"),
    ]

    operations = [
        # The reverse accessor `findings` would hide the new field of the same name meanwhile.
        migrations.AlterField(
            model_name="findingrecord",
            name="compound_assessment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="compliance.compoundassessment"
            ),
        ),
        migrations.AddField(
            model_name="compoundassessment",
            name="findings",
            field=models.JSONField(default=list, verbose_name="评估结论"),
        ),
        migrations.RunPython(rows_to_json, json_to_rows),
        migrations.DeleteModel(name="FindingRecord"),
        migrations.RunPython(unpack_snapshots, pack_snapshots),
        migrations.RunPython(lz4_on_postgresql, migrations.RunPython.noop),
    ]
