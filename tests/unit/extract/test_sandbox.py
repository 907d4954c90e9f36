from __future__ import annotations

import time

import pytest

from cephalo_ray.extract.document import ExtractError
from cephalo_ray.extract.sandbox import SandboxedFunction
from cephalo_ray.samples import sample_paper
from tests.helpers.faults import misbehaving_parse


@pytest.fixture(scope="module")
def sandbox() -> SandboxedFunction:
    parse = SandboxedFunction(misbehaving_parse, timeout_s=3.0, memory_mb=1024)
    yield parse
    parse.close()


def test_good_document_parses_in_the_child(sandbox: SandboxedFunction) -> None:
    result = sandbox(sample_paper(1, figures=1).pdf, "good.pdf")
    assert len(result["pairs"]) == 1


def test_sigstopped_child_is_a_timeout_and_the_next_call_works(sandbox: SandboxedFunction) -> None:
    started = time.monotonic()
    with pytest.raises(ExtractError) as raised:
        sandbox(b"%PDF-1.7", "sigstop.pdf")
    assert raised.value.kind == "Timeout" and "limits.timeout_s" in raised.value.message
    assert time.monotonic() - started < 15
    assert len(sandbox(sample_paper(2, figures=1).pdf, "after.pdf")["pairs"]) == 1


def test_segfault_is_crashed(sandbox: SandboxedFunction) -> None:
    with pytest.raises(ExtractError) as raised:
        sandbox(b"%PDF-1.7", "segfault.pdf")
    assert raised.value.kind == "Crashed" and "SIGSEGV" in raised.value.message
    assert len(sandbox(sample_paper(3, figures=1).pdf, "after.pdf")["pairs"]) == 1


def test_memory_hog_is_too_large(sandbox: SandboxedFunction) -> None:
    with pytest.raises(ExtractError) as raised:
        sandbox(b"%PDF-1.7", "hog.pdf")
    assert raised.value.kind == "TooLarge" and "1024 MiB" in raised.value.message


def test_errors_of_the_function_pass_through(sandbox: SandboxedFunction) -> None:
    with pytest.raises(ExtractError) as raised:
        sandbox(b"", "empty.pdf")
    assert raised.value.kind == "Empty"
