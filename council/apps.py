from django.apps import AppConfig


class CouncilConfig(AppConfig):
    name = "council"
    verbose_name = "AI Investment Council"

    def ready(self):
        from intake import review as intake_review

        from . import intakes

        # The intake page reads the council's review of an intake through its door
        # (intake/review.py), filled from here: intake never imports council.
        intake_review.register(review_of=intakes.intake_review_of)
        intakes.register_history_labels()
