"""`cephalo extract` end to end on a local Ray: the output contract, restarts and hostile inputs."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cephalo_ray.config import ConfigError
from cephalo_ray.jobs import extract_figures
from cephalo_ray.jobs.extract_figures import ExtractConfig
from cephalo_ray.rows import documents_schema, errors_schema, pairs_schema
from cephalo_ray.samples import sample_paper
from cephalo_ray.storage import Storage, join
from tests.helpers.faults import misbehaving_parse
from tests.helpers.killed_jobs import gone, kill_when
from tests.helpers.servers import MotoS3Server

# Outcome of each broken input written by `write_sample_corpus`: (status, error kind)
EXPECTED_BAD = {
    "corrupt.pdf": ("failed", "Corrupt"),
    "empty.pdf": ("failed", "Empty"),
    "html.pdf": ("failed", "NotPDF"),
    "encrypted.pdf": ("failed", "Encrypted"),
    "truncated.pdf": ("ok", None),
    "owner_only.pdf": ("ok", None),
}


def config_for(input_uri: str, output_uri: str, **overrides: Any) -> ExtractConfig:
    values: dict[str, Any] = {
        "input": input_uri,
        "output": output_uri,
        "dpi": 72,
        "resources": {"actors": 2, "num_cpus": 0.5, "docs_per_file": 3},
        "limits": {"timeout_s": 60},
    }
    values.update(overrides)
    return ExtractConfig.model_validate(values)


def read_root(storage: Storage, root: str) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """The manifest and, per row kind, the concatenated tables of the files it lists."""
    from cephalo_ray.output_root import read_manifest

    manifest = read_manifest(storage, root)
    assert manifest is not None
    tables = {}
    for kind, schema in (
        ("pairs", pairs_schema()),
        ("documents", documents_schema()),
        ("errors", errors_schema()),
    ):
        table = storage.read_parquet([join(root, name) for name in manifest["files"][kind]])
        tables[kind] = table if table is not None else schema.empty_table()
    return manifest, tables


def upload_folder(s3: MotoS3Server, folder: Path, bucket: str, prefix: str) -> None:
    client = s3.client()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")


def test_s3_to_s3_output_contract(
    ray_session: Any, s3_server: MotoS3Server, s3_bucket: str, sample_corpus: Path
) -> None:
    upload_folder(s3_server, sample_corpus, s3_bucket, "papers")
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    output = f"s3://{s3_bucket}/runs/extract"
    config = config_for(
        f"s3://{s3_bucket}/papers", output, storage={"s3_endpoint_url": s3_server.endpoint_url}
    )
    returned = extract_figures.run(config)
    manifest, tables = read_root(storage, output)
    assert returned == manifest

    inputs = sorted(path for path in sample_corpus.rglob("*.pdf"))
    counts = manifest["counts"]
    assert manifest["status"] == "complete" and manifest["job"] == "extract"
    assert counts["documents_in"] == len(inputs) == 11
    assert counts["documents_in"] == counts["documents_ok"] + counts["documents_failed"]
    assert counts["documents_failed"] == 4 and counts["documents_repaired"] == 1
    assert counts["errors_by_kind"] == {"Corrupt": 1, "Empty": 1, "NotPDF": 1, "Encrypted": 1}
    assert len(manifest["config_hash"]) == 64 and manifest["upstream"] is None
    assert manifest["hashed_config"]["input"] == f"s3://{s3_bucket}/papers"
    assert all(not name.startswith(("s3:", "/")) for names in manifest["files"].values() for name in names)

    pairs = tables["pairs"]
    assert pairs.schema.equals(pairs_schema())
    assert pairs.num_rows == counts["pairs"] > 0
    rows = pairs.to_pylist()
    assert len({row["pair_id"] for row in rows}) == len(rows)
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{16}", row["pair_id"]) and re.fullmatch(r"[0-9a-f]{64}", row["doc_id"])
        assert row["source"].startswith(f"s3://{s3_bucket}/papers/") and row["page"] >= 1
        assert row["kind"] == "figure" and row["graphics"] == "raster"
        x0, y0, x1, y1 = row["bbox"]
        assert 0 <= x0 < x1 <= 595 and 0 <= y0 < y1 <= 842
        assert row["image"][:8] == b"\x89PNG\r\n\x1a\n" and row["image_width"] > 0 and row["image_height"] > 0
        if row["label"] is not None:
            assert row["caption"].startswith(row["label"])
    labelled = [row for row in rows if row["label"]]
    assert labelled and all(row["mentions"] for row in labelled)

    documents = {row["source"].rsplit("/", 1)[1]: row for row in tables["documents"].to_pylist()}
    assert tables["documents"].num_rows == len(inputs)
    for name, (status, error) in EXPECTED_BAD.items():
        assert (documents[name]["status"], documents[name]["error"]) == (status, error), name
    assert documents["truncated.pdf"]["repaired"]
    papers = [row for name, row in documents.items() if name.startswith("paper-")]
    assert all(
        row["status"] == "ok" and row["pages"] >= 1 and row["size"] > 0 and row["mtime_ns"] for row in papers
    )
    assert sorted(row["pairs"] for row in papers)[0] == 0  # the text-only paper: ok with zero pairs
    # what each generated paper states about itself (info dictionary and XMP) is recorded
    stated = documents["paper-001.pdf"]
    assert (stated["doi"], stated["licence"], stated["year"]) == ("10.5555/cephalo.0001", "CC-BY-4.0", 2021)
    assert stated["title"].startswith("Hierarchical design of the") and stated["authors"] == [
        "A. Researcher",
        "B. Scientist",
    ]

    errors = tables["errors"].to_pylist()
    assert sorted(row["source"].rsplit("/", 1)[1] for row in errors) == sorted(
        name for name, (status, _) in EXPECTED_BAD.items() if status == "failed"
    )
    assert all(row["message"] and row["stage"] == "extract" and row["error"] for row in errors)


def test_rerun_does_nothing_and_changed_config_is_refused(
    ray_session: Any, sample_corpus: Path, tmp_path: Path
) -> None:
    output = str(tmp_path / "out")
    first = extract_figures.run(config_for(str(sample_corpus), output))
    stamps = {path: path.stat().st_mtime_ns for path in Path(output).rglob("*.parquet")}
    second = extract_figures.run(config_for(str(sample_corpus), output, resources={"actors": 1}))
    assert second["counts"]["documents_processed"] == 0
    assert second["counts"]["documents_skipped"] == first["counts"]["documents_in"]
    assert second["files"] == first["files"] and second["counts"]["pairs"] == first["counts"]["pairs"]
    assert {path: path.stat().st_mtime_ns for path in Path(output).rglob("*.parquet")} == stamps

    with pytest.raises(ConfigError) as raised:
        extract_figures.run(config_for(str(sample_corpus), output, dpi=96))
    assert "`dpi`: 72 -> 96" in str(raised.value)


def test_changed_config_on_the_command_line_exits_2(
    ray_session: Any, sample_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = str(tmp_path / "out")
    extract_figures.run(config_for(str(sample_corpus / "journal"), output))
    code = extract_figures.main(
        [str(sample_corpus / "journal"), output, "--dpi", "90", "min_figure_points=10"]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "`dpi`" in error and "`min_figure_points`" in error and "new output root" in error


def test_sigstopped_parse_is_a_timeout_and_the_job_completes(ray_session: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    for name, seed in (("a.pdf", 1), ("sigstop.pdf", 2), ("segfault.pdf", 3), ("b.pdf", 4)):
        (corpus / name).write_bytes(sample_paper(seed, figures=1).pdf)
    config = config_for(str(corpus), str(tmp_path / "out"), limits={"timeout_s": 3})
    started = time.monotonic()
    manifest = extract_figures.run(config, parse_function=misbehaving_parse)
    assert time.monotonic() - started < 60
    assert manifest["status"] == "complete"
    assert manifest["counts"]["errors_by_kind"] == {"Timeout": 1, "Crashed": 1}
    _, tables = read_root(Storage(), str(tmp_path / "out"))
    by_name = {row["source"].rsplit("/", 1)[1]: row for row in tables["documents"].to_pylist()}
    assert by_name["sigstop.pdf"]["error"] == "Timeout" and by_name["segfault.pdf"]["error"] == "Crashed"
    assert by_name["a.pdf"]["pairs"] == 1 and by_name["b.pdf"]["pairs"] == 1
    # the manifest names the slowest documents (the stopped one among them) and keeps Ray Data's statistics
    slowest = {row["source"].rsplit("/", 1)[1]: row["seconds"] for row in manifest["slowest"]}
    assert slowest["sigstop.pdf"] >= 3 and list(slowest.values()) == sorted(slowest.values(), reverse=True)
    assert "MapBatches(ExtractStage)" in manifest["ray_data_stats"]


def test_same_pdf_at_two_uris_is_recorded_once(ray_session: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    (corpus / "copy").mkdir(parents=True)
    pdf = sample_paper(7, figures=2).pdf
    (corpus / "original.pdf").write_bytes(pdf)
    (corpus / "copy" / "same.pdf").write_bytes(pdf)
    (corpus / "other.pdf").write_bytes(sample_paper(8, figures=1).pdf)
    output = str(tmp_path / "out")
    manifest = extract_figures.run(
        config_for(str(corpus), output, resources={"actors": 2, "docs_per_file": 1})
    )
    _, tables = read_root(Storage(), output)
    statuses = sorted(row["status"] for row in tables["documents"].to_pylist())
    assert statuses == ["duplicate", "ok", "ok"]
    assert manifest["counts"]["documents_duplicate"] == 1 and manifest["counts"]["documents_ok"] == 3
    assert tables["pairs"].num_rows == 3 == len(set(tables["pairs"].column("pair_id").to_pylist()))


def test_missing_entry_of_a_list_file_is_an_error_row(ray_session: Any, tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(sample_paper(1, figures=1).pdf)
    (tmp_path / "inputs.txt").write_text("a.pdf\nvanished.pdf\n")
    manifest = extract_figures.run(config_for(str(tmp_path / "inputs.txt"), str(tmp_path / "out")))
    assert manifest["counts"]["errors_by_kind"] == {"ReadFailed": 1}
    assert manifest["counts"]["documents_ok"] == 1 and manifest["status"] == "complete"


@pytest.mark.slow  # about 25 s: a job killed and run again
def test_sigkilled_job_resumes_without_duplicates(ray_session: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    for seed in range(16):
        (corpus / f"p{seed:02d}.pdf").write_bytes(sample_paper(seed, figures=1 + seed % 3).pdf)
    reference = extract_figures.run(config_for(str(corpus), str(tmp_path / "reference")))
    _, reference_tables = read_root(Storage(), str(tmp_path / "reference"))

    output = tmp_path / "killed"
    command = [sys.executable, "-m", "cephalo_ray.jobs.extract_figures", str(corpus), str(output), "dpi=72"]
    command += [
        "resources.actors=1",
        "resources.num_cpus=0.5",
        "resources.docs_per_file=1",
        "resources.local_num_cpus=1",
    ]
    ray_dir = kill_when(
        command,
        lambda: bool(list((output / "documents").glob("*.parquet"))),
        tmp_path / "job.log",
        timeout_s=120,
    )
    committed_before = len(list((output / "documents").glob("*.parquet")))
    assert committed_before < 16, "the job finished before the kill; nothing was tested"

    # No waiting: a worker of the killed job may still be finishing a batch; the rerun fences it out.
    resumed = extract_figures.run(config_for(str(corpus), str(output)))
    gone(ray_dir)
    manifest, tables = read_root(Storage(), str(output))
    pair_ids = tables["pairs"].column("pair_id").to_pylist()
    assert len(pair_ids) == len(set(pair_ids))
    assert set(pair_ids) == set(reference_tables["pairs"].column("pair_id").to_pylist())
    assert resumed["counts"]["documents_skipped"] >= committed_before >= 1
    assert resumed["counts"]["documents_skipped"] + resumed["counts"]["documents_processed"] == 16
    assert manifest["status"] == "complete" and manifest["counts"]["pairs"] == reference["counts"]["pairs"]
    sources = tables["documents"].column("source").to_pylist()
    assert len(sources) == len(set(sources)) == 16
    shutil.rmtree(output)


@pytest.mark.parametrize("killed_while_settling", [False, True])
def test_documents_a_retried_batch_commits_twice_are_listed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_while_settling: bool
) -> None:
    """When a worker node is lost, Ray Data re-runs its batches regrouped on other actors, so the
    same documents commit again under other batch names; here two stages commit such groupings."""
    from cephalo_ray import ledger
    from cephalo_ray.extract.stage import DocumentClaims, ExtractStage

    corpus = tmp_path / "in"
    corpus.mkdir()
    for seed in range(5):
        (corpus / f"p{seed}.pdf").write_bytes(sample_paper(seed, figures=1 + seed % 2).pdf)
    output = str(tmp_path / "out")
    # the lost node's actor committed p0-p2; retries on the other actor overlap it, neither holds the other
    groupings = [[0, 1, 2], [2, 3, 4], [1]]

    def lost_node_pipeline(
        config: ExtractConfig, root: Any, storage: Storage, pending: list[Any], *_: Any
    ) -> tuple[float, str]:
        monkeypatch.setattr(
            ExtractStage, "claim", lambda self, doc_id, source: self.claims.claim(doc_id, source)
        )
        claims = DocumentClaims({})
        options = extract_figures.parse_options(config)
        actors = [ExtractStage(root.committer, storage, claims, options, 2**30, 60, None) for _ in range(2)]
        try:
            for number, grouping in enumerate(groupings):
                items = [pending[index] for index in grouping]
                batch = {key: [getattr(item, key) for item in items] for key in ("uri", "size", "mtime_ns")}
                actors[min(number, 1)](batch)
        finally:
            for actor in actors:
                actor.parse.close()
        if killed_while_settling:  # the driver dies right after the first rewrite has committed
            commit_batch = ledger.commit_batch

            def commit_then_die(*args: Any, **kwargs: Any) -> None:
                commit_batch(*args, **kwargs)
                raise KeyboardInterrupt("killed")

            monkeypatch.setattr(ledger, "commit_batch", commit_then_die)
        return 0.0, ""

    monkeypatch.setattr(extract_figures, "extract_pending", lost_node_pipeline)
    config = config_for(str(corpus), output)
    if killed_while_settling:
        with pytest.raises(KeyboardInterrupt):
            extract_figures.run(config)
        monkeypatch.undo()
        assert len(extract_figures.read_ledger(Storage(), output)) > 5  # the rewrite and its original
        extract_figures.run(config)
    else:
        extract_figures.run(config)

    manifest, tables = read_root(Storage(), output)
    documents = tables["documents"].to_pylist()
    assert sorted(row["source"] for row in documents) == sorted(str(path) for path in corpus.glob("*.pdf"))
    counts = manifest["counts"]
    assert manifest["status"] == "complete" and counts["documents_ok"] == 5 == counts["documents_in"]
    pairs = tables["pairs"].to_pylist()
    assert len({row["pair_id"] for row in pairs}) == len(pairs) == counts["pairs"] == 7
    per_source = {row["source"]: row["pairs"] for row in documents}
    assert {source: sum(row["source"] == source for row in pairs) for source in per_source} == per_source
    # nothing but the listed files is left, and a rerun changes nothing
    on_disk = sorted(str(path.relative_to(output)) for path in Path(output).rglob("*.parquet"))
    assert on_disk == sorted(name for names in manifest["files"].values() for name in names)
    stamps = {path: path.stat().st_mtime_ns for path in Path(output).rglob("*.parquet")}
    rerun = extract_figures.run(config)
    assert rerun["files"] == manifest["files"] and rerun["counts"]["documents_skipped"] == 5
    assert {path: path.stat().st_mtime_ns for path in Path(output).rglob("*.parquet")} == stamps
