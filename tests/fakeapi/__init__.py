"""A local fake of the ClinicalTrials.gov Data API v2: real HTTP, real records, injectable faults."""

from tests.fakeapi.faults import Fault, FaultKind
from tests.fakeapi.sample import load_sample_studies, make_studies
from tests.fakeapi.server import DEFAULT_DATA_TIMESTAMP, FakeRegistryServer, RecordedRequest

__all__ = [
    "DEFAULT_DATA_TIMESTAMP",
    "FakeRegistryServer",
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "load_sample_studies",
    "make_studies",
]
