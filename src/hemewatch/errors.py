"""Every failure a person can act on is a HemewatchError subclass.

The class docstring is the default user-facing message; instances may carry a more
specific one. Each class knows what it means at the edges: `exit_code` for the command line
(0 success, 1 rejected or failed, 2 configuration or usage error, 75 the job is already running)
and `http_status` for the web app and the API. The command line (`cli.console.report_error`) and
the web app (`web.errors`) read these two attributes and nothing else; nothing in the library
prints or exits.
"""

from __future__ import annotations


class HemewatchError(Exception):
    """hemewatch could not complete the operation."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.__class__.__name__).strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigurationError(HemewatchError):
    """The hemewatch configuration is invalid; check the TOML file and HEMEWATCH_* variables."""

    exit_code = 2


class UsageError(HemewatchError):
    """An option or argument has an invalid value."""

    exit_code = 2


class InvalidNctId(HemewatchError):
    """Not a ClinicalTrials.gov identifier: expected NCT followed by eight digits, e.g. NCT04530565."""

    exit_code = 2
    # On the web an NCT id is part of an address: a malformed one names no page.
    http_status = 404


class InvalidFilterValue(HemewatchError):
    """A filter value is not one hemewatch knows; `hemewatch values` lists the valid ones."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str | None = None, *, dimension: str = "", value: str = "") -> None:
        super().__init__(message)
        self.dimension = dimension
        self.value = value


class InvalidRecord(HemewatchError):
    """The input is not a ClinicalTrials.gov v2 study record."""


class RegistryError(HemewatchError):
    """ClinicalTrials.gov could not be reached or answered with an error."""


class RegistryUnavailable(RegistryError):
    """ClinicalTrials.gov did not answer after several retries; try again later (stored data is intact)."""


class RegistryRequestRejected(RegistryError):
    """ClinicalTrials.gov rejected the request (HTTP 4xx); the query or a parameter is invalid."""


class IncompleteResults(RegistryError):
    """ClinicalTrials.gov sent fewer studies than it counted for the query; the run is not complete."""

    def __init__(self, message: str | None = None, *, received: int = 0, expected: int = 0) -> None:
        super().__init__(message)
        self.received = received
        self.expected = expected


class StudyNotFound(RegistryError):
    """ClinicalTrials.gov has no study with that identifier."""


class RecordHistoryNotFound(RegistryError):
    """ClinicalTrials.gov has no record history for that trial."""


class RecordHistoryChanged(RegistryError):
    """ClinicalTrials.gov's record history answered in an unknown shape; nothing was stored from it."""

    # The record-history endpoints belong to the registry's website, not to its documented API, and
    # may change without notice: each message names what was expected and what came.


class StorageError(HemewatchError):
    """The hemewatch database could not be opened or updated."""

    http_status = 503


class TrialNotFound(HemewatchError):
    """That trial is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."""

    http_status = 404


class LexiconError(HemewatchError):
    """A classification lexicon file is invalid."""


class ScopeError(HemewatchError):
    """The watch scope file is invalid."""


class MailLimitReached(HemewatchError):
    """Too many mails were sent from this site within the hour; try again later."""

    http_status = 429


class RecordFieldError(InvalidRecord):
    """A study record has a field of the wrong type or out of range; it was set aside, not stored."""

    def __init__(
        self, message: str | None = None, *, field: str | None = None, nct_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.nct_id = nct_id


class WorkerStreamError(HemewatchError):
    """The stream between the importer and a worker process ended in the middle of a message."""


class JobAlreadyRunning(HemewatchError):
    """Another hemewatch process is running this job; try again when it has finished, or pass --wait."""

    # EX_TEMPFAIL (sysexits.h): a temporary condition, worth retrying later.
    exit_code = 75
    http_status = 503
