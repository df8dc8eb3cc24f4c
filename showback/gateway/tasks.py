from celery import shared_task


@shared_task(name="showback.gateway_flush")
def gateway_flush():
    """Write queued denials and last use of keys to the database, and true up the cap counters
    with the database (spend imported from bills included). Safe to run twice, or at once in
    several workers."""
    from .services import gateway_caps_reconcile, gateway_flush

    done = gateway_flush()
    done["caps"] = gateway_caps_reconcile()
    return done
