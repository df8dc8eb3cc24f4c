from django.apps import AppConfig


class CouncilConfig(AppConfig):
    name = "council"
    verbose_name = "AI Investment Council"

    def ready(self):
        from intake import review as intake_review
        from intake.signals import intake_decided

        from . import intakes

        # The intake page reads the council's review of an intake through its door
        # (intake/review.py), filled from here: intake never imports council.
        intake_review.register(review_of=intakes.intake_review_of)
        intakes.register_history_labels()
        # An intake decided on its own page leaves the council's agendas (intake sends, council acts).
        intake_decided.connect(intakes.intake_taken_off, dispatch_uid="council.intake_taken_off")
