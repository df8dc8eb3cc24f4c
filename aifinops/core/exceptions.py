class ConflictError(Exception):
    """The object changed under the user (a lost race, or a step no longer allowed): reload and retry."""


class Unprocessable(Exception):
    """A request that is understood but cannot be carried out yet, with the reasons (HTTP 422).

    `details` is a list of JSON-safe items naming what is missing.
    """

    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details or []
