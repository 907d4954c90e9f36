from __future__ import annotations

import time

import pytest

from cephalo_ray.extract.document import PARSER_IMPORTS, ExtractError
from cephalo_ray.extract.sandbox import SandboxedFunction
from cephalo_ray.samples import sample_paper
from tests.helpers.faults import loaded_modules, misbehaving_parse


@pytest.fixture(scope="module")
def sandbox() -> SandboxedFunction:
    # A slow machine's first parse must not be charged the parser's imports.
    parse = SandboxedFunction(misbehaving_parse, timeout_s=5.0, memory_mb=1024, preload=PARSER_IMPORTS)
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
    assert time.monotonic() - started < 20
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


@pytest.mark.parametrize("preload", [(), ("pymupdf",)])
def test_preloaded_modules_are_imported_before_the_first_call(preload: tuple[str, ...]) -> None:
    parse = SandboxedFunction(loaded_modules, timeout_s=30.0, memory_mb=None, preload=preload)
    try:
        assert ("pymupdf" in parse(b"%PDF-1.7", "any.pdf")) == bool(preload)
    finally:
        parse.close()
