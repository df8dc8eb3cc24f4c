from celery import shared_task


@shared_task(name="council.build_agenda")
def build_agenda(council_id=None):
    """Build the next agenda of one council, or of every council. Safe to run twice: the second run
    adds nothing."""
    from .models import Council
    from .services import agenda_build

    councils = Council.objects.order_by("id")
    if council_id is not None:
        councils = councils.filter(pk=council_id)
    built = {}
    for council in councils:
        result = agenda_build(council=council)
        built[council.pk] = {
            "meeting": result.meeting.pk if result.meeting else None,
            "created": len(result.created),
            "extended": len(result.extended),
            "carried": len(result.carried),
        }
    return built
