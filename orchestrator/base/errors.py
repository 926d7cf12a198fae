"""The one error root and the fixed exit codes.

Every error a user can cause or meet is a SocklabError: the CLI prints its message (never a
traceback) and exits with its exit_code.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


class SocklabError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code = EXIT_ENVIRONMENT


class InvalidInput(SocklabError):
    """A scenario, topology or argument is wrong: the user can fix it."""

    exit_code = EXIT_INVALID_INPUT


class LocatedError(InvalidInput):
    """A mistake at a known place in a file: names the file, the line and the key path."""

    def __init__(self, path: str, line: int | None, key: str, message: str):
        self.path, self.line, self.key, self.message = str(path), line, key, message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: at {key}: {message}" if key else f"{where}: {message}")


class ScenarioError(LocatedError):
    """A scenario file is invalid."""


class TopologyError(LocatedError):
    """compose.yaml uses something outside the documented subset, or is inconsistent."""


class SuiteError(LocatedError):
    """A suite file (the scenarios a class is graded on, and their weights) is invalid."""


class EnvironmentProblem(SocklabError):
    """The machine is not ready: no Docker daemon, images missing and not buildable, ..."""

    exit_code = EXIT_ENVIRONMENT


class EngineError(EnvironmentProblem):
    """The Docker Engine refused or failed an operation."""


class ImageBuildError(EnvironmentProblem):
    """An image could not be built."""


class Interrupted(SocklabError):
    """SIGINT or SIGTERM arrived; whatever was started has been torn down."""

    exit_code = EXIT_INTERRUPTED


class StepFailed(SocklabError):
    """A step could not do what it says (not a timeout): e.g. an exit status other than expected. The
    runner records it against the step; should one escape a step, the run records it as its error."""


class WaitTimeout(SocklabError):
    """A condition did not come true in time; the message says what was awaited and what was seen."""

    def __init__(self, awaited: str, timeout: float, seen: str, *, gave_up_after: float | None = None):
        """gave_up_after: the wait ended before its timeout because what it awaited can no longer come
        (e.g. the program exited), after that many seconds."""
        self.awaited, self.timeout, self.seen, self.gave_up_after = awaited, timeout, seen, gave_up_after
        if gave_up_after is None:
            super().__init__(f"waited {timeout:g} s for {awaited}; saw instead: {seen or '(nothing)'}")
        else:
            super().__init__(f"stopped waiting for {awaited} after {gave_up_after:.2f} s (of {timeout:g}): it "
                             f"can no longer come; saw: {seen or '(nothing)'}")
