class ConflictError(Exception):
    """The object changed under the user (a lost race, or a step no longer allowed): reload and retry."""
