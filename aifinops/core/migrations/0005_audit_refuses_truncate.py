"""On PostgreSQL, the database also refuses TRUNCATE on the audit table.

0003's row trigger refuses UPDATE and DELETE, but TRUNCATE fires no row trigger: a statement
trigger refuses it. One connection may truncate: one that starts with the setting
`aifinops.audit_truncate` at `allow`, which only the test profile sets (settings/test.py), because
the test runner empties every table with TRUNCATE between transactional tests.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION core_auditevent_refuses_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('aifinops.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'core_auditevent is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_auditevent_refuses_truncate
    BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_refuses_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS core_auditevent_refuses_truncate ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_refuses_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_notification")]

    operations = [migrations.RunPython(forwards, backwards)]
