import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.test import RequestFactory

from aifinops.core.audit import audit_record, snapshot
from aifinops.core.models import AppendOnlyError, AuditEvent
from portfolio.tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def _event(team, actor=None):
    with transaction.atomic():
        return audit_record(
            actor=actor, action="team.update", obj=team, before={"name": "Old"}, after=snapshot(team)
        )


def test_audit_record_keeps_actor_object_and_diff(cast):
    event = _event(cast.team_a, actor=cast.admin)

    assert event.actor == cast.admin
    assert event.actor_label == "adm"
    assert event.object_type == "portfolio.team"
    assert event.object_id == str(cast.team_a.pk)
    assert ("name", "Old", "Support") in event.changes


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction():
    team = TeamFactory()

    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit_record(actor=None, action="team.update", obj=team)


def test_orm_refuses_update_and_delete(cast):
    event = _event(cast.team_a)

    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "team.update"


def test_admin_offers_no_add_change_or_delete(cast):
    request = RequestFactory().get("/admin/")
    request.user = cast.admin
    model_admin = site._registry[AuditEvent]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditevent SET action = 'tampered' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ],
)
def test_database_trigger_refuses_raw_update_and_delete(cast, sql):
    event = _event(TeamFactory())

    refused = pytest.raises((InternalError, ProgrammingError, IntegrityError), match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk, action="team.update").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_database_trigger_refuses_truncate(cast):
    event = _event(TeamFactory())

    # The test profile's connections may truncate (the test runner's flush does): this one no more.
    refused = pytest.raises((InternalError, ProgrammingError, IntegrityError), match="append-only: TRUNCATE")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL aifinops.audit_truncate = ''")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the event's deferred checks, run now
        cursor.execute("TRUNCATE core_auditevent")

    assert AuditEvent.objects.filter(pk=event.pk).exists()
