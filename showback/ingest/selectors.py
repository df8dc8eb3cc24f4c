"""Reads of spend imports."""

from django.shortcuts import get_object_or_404

from ..models import ImportBatch


def import_list(*, limit=50):
    return list(ImportBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


def import_get(*, pk):
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
