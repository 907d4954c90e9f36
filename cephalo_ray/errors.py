"""Errors that stop a job with one clear line for the user (the CLI exits 2 on them)."""


class JobError(RuntimeError):
    """A reason to stop a job that the user can act on: a missing upstream, a teacher that refuses."""


def find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`error` itself, or what caused it, when of `kind`; Ray re-raises a worker's error under its own
    type with the original's name and message in the text, so a match by name is rebuilt from that."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if kind.__name__ in str(current):
            return kind(str(current).split(f"{kind.__name__}:", 1)[-1].strip().splitlines()[0])
        current = current.__cause__ or current.__context__
    return None
