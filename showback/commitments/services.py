"""Every write of commitments: entry by hand and the FOCUS 1.3 import, each audited in its
transaction."""

from django.db import transaction

from aifinops.core import permissions
from aifinops.core.audit import audit_record

from ..models import Commitment, CommitmentSource
from .importer import CommitmentFileError, check_rows


def _snapshot(commitment):
    return {
        "name": commitment.name,
        "provider": commitment.provider.slug,
        "category": commitment.category,
        "term": [commitment.term_start.isoformat(), commitment.term_end.isoformat()],
        "committed_amount": str(commitment.committed_amount)
        if commitment.committed_amount is not None
        else None,
        "capacity": [
            str(commitment.capacity_units or ""),
            commitment.capacity_unit,
            str(commitment.unit_price or ""),
        ],
        "currency": commitment.currency,
        "billing": commitment.billing,
        "source": commitment.source,
        "contract_id": commitment.contract_id,
        "commitment_id": commitment.commitment_id,
        "models": sorted(m.key for m in commitment.models_covered.all()),
    }


@transaction.atomic
def commitment_create(*, actor, models_covered=(), **fields) -> Commitment:
    """Record a commitment entered by hand (the form has validated its fields)."""
    permissions.require(actor, permissions.RECORD_COMMITMENTS)
    commitment = Commitment(**fields, source=CommitmentSource.MANUAL, created_by=actor)
    commitment.full_clean()
    commitment.save()
    commitment.models_covered.set(models_covered)
    audit_record(actor=actor, action="commitment.create", obj=commitment, after=_snapshot(commitment))
    return commitment


@transaction.atomic
def commitments_import(*, actor, rows, provider, source_name="") -> dict:
    """Import the rows of a FOCUS 1.3 contract-commitment file, all or nothing; a
    ContractCommitmentId imported before is updated. Raises CommitmentFileError naming each bad row."""
    permissions.require(actor, permissions.RECORD_COMMITMENTS)
    clean, problems = check_rows(rows, provider=provider)
    if problems:
        raise CommitmentFileError(problems)
    existing = {
        c.commitment_id: c
        for c in Commitment.objects.select_for_update().filter(
            commitment_id__in=[v["commitment_id"] for v in clean]
        )
    }
    created = updated = 0
    for values in clean:
        commitment = existing.get(values["commitment_id"])
        before = _snapshot(commitment) if commitment else None
        if commitment is None:
            commitment = Commitment(created_by=actor, provider=provider)
            created += 1
        else:
            updated += 1
        for field, value in values.items():
            setattr(commitment, field, value)
        commitment.provider = provider
        commitment.source = CommitmentSource.FOCUS
        commitment.save()
        audit_record(
            actor=actor,
            action="commitment.import",
            obj=commitment,
            before=before,
            after={**_snapshot(commitment), "file": source_name[:100]},
        )
    return {"created": created, "updated": updated}
