"""`audit_append(...)`: append one audit entry in a single statement on PostgreSQL (advisory lock,
head lookup, hash, INSERT); with `p_async` (ANFANG_AUDIT_ASYNC_COMMIT) the transaction does not
wait for the WAL flush: the chain stays consistent, a database crash may lose the last fraction of
a second of entries. The hash formula is `services._chain`:
sha256("<seq>:<prev_hash>:<at as UTC ISO, microseconds>:<content sha256>")."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_at timestamptz, p_actor_id bigint, p_actor_name text, p_action text, p_object_type text,
    p_object_id text, p_compound_id bigint, p_purpose text, p_detail jsonb, p_remote_addr inet,
    p_content text, p_lock bigint, p_async boolean
) RETURNS TABLE (id bigint, seq bigint, at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_seq bigint;
    v_prev text;
    v_at timestamptz;
BEGIN
    IF p_async THEN
        PERFORM set_config('synchronous_commit', 'off', true);  -- this transaction only
    END IF;
    PERFORM pg_advisory_xact_lock(p_lock);
    -- A new snapshot per statement (READ COMMITTED): the head committed by the previous holder is seen.
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_auditentry e ORDER BY e.seq DESC LIMIT 1;
    v_seq := COALESCE(v_seq, 0) + 1;
    v_prev := COALESCE(v_prev, repeat('0', 64));
    v_at := date_trunc('microseconds', COALESCE(p_at, clock_timestamp()));
    RETURN QUERY
    INSERT INTO audit_auditentry AS a (seq, at, actor_id, actor_name, action, object_type, object_id,
                                       compound_id, purpose, detail, remote_addr, prev_hash, hash)
    VALUES (
        v_seq, v_at, p_actor_id, p_actor_name, p_action, p_object_type, p_object_id, p_compound_id,
        p_purpose, p_detail, p_remote_addr, v_prev,
        encode(sha256(convert_to(
            v_seq::text || ':' || v_prev || ':'
            || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'
            || ':' || p_content, 'UTF8')), 'hex')
    )
    RETURNING a.id, a.seq, a.at, a.prev_hash::text, a.hash::text;
END;
$$;
"""
DROP = "DROP FUNCTION IF EXISTS audit_append(timestamptz, bigint, text, text, text, text, bigint, text, jsonb, inet, text, bigint, boolean)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_auditverification_exportrequest")]

    operations = [migrations.RunPython(forward, backward)]
