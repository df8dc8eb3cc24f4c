"""The OpenAPI schema builds with no warning and validates: a warning is a part of the API that
clients (and the fuzzing test) would read wrong, such as two components under one name."""

import yaml
from django.core.management import call_command


def test_the_schema_builds_without_warnings_and_validates(tmp_path, db):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))

    paths = yaml.safe_load(out.read_text())["paths"]
    assert "/api/v1/commitments/import/" in paths
    assert "/api/v1/admin/triage-rules/{code}/apply/" in paths
