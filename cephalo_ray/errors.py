"""Errors that stop a job with one clear line for the user (the CLI exits 2 on them)."""


class JobError(RuntimeError):
    """A reason to stop a job that the user can act on: a missing upstream, a teacher that refuses."""
