from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cephalo_ray.storage import Storage, join
from tests.helpers.servers import MotoS3Server


def put(storage: Storage, uri: str, data: bytes = b"%PDF-1.7 x") -> None:
    storage.write_bytes(uri, data)


def test_local_listing_folder_glob_single_and_list_file(tmp_path: Path) -> None:
    storage = Storage()
    for name in ("a.pdf", "sub/b.PDF", "sub/deeper/c.pdf", "notes.txt.bak"):
        put(storage, str(tmp_path / "in" / name))
    folder = [item.uri for item in storage.list_inputs(str(tmp_path / "in"))]
    assert [Path(uri).name for uri in folder] == ["a.pdf", "b.PDF", "c.pdf"]
    globbed = storage.list_inputs(str(tmp_path / "in" / "**" / "*.pdf"))
    assert {Path(item.uri).name for item in globbed} == {"a.pdf", "c.pdf"}
    single = storage.list_inputs(str(tmp_path / "in" / "a.pdf"))
    assert len(single) == 1 and single[0].size == len(b"%PDF-1.7 x") and single[0].mtime_ns
    listing = tmp_path / "inputs.txt"
    listing.write_text("# chosen papers\nin/a.pdf\n\nin/missing.pdf\n")
    listed = storage.list_inputs(str(listing))
    assert [(Path(item.uri).name, item.size is not None) for item in listed] == [
        ("a.pdf", True),
        ("missing.pdf", False),
    ]
    with pytest.raises(FileNotFoundError):
        storage.list_inputs(str(tmp_path / "nowhere"))


def test_local_write_is_atomic_and_leaves_no_partials(tmp_path: Path) -> None:
    storage = Storage()
    target = str(tmp_path / "deep" / "file.bin")
    storage.write_bytes(target, b"one")
    storage.write_bytes(target, b"two")
    assert storage.read_bytes(target) == b"two"
    assert [path.name for path in (tmp_path / "deep").iterdir()] == ["file.bin"]


def test_s3_roundtrip_listing_and_parquet(s3_server: MotoS3Server, s3_bucket: str) -> None:
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    root = f"s3://{s3_bucket}/papers"
    for name in ("x/1.pdf", "x/2.pdf", "y/3.pdf", "y/readme.md"):
        put(storage, join(root, name))
    listed = storage.list_inputs(root)
    assert [item.uri for item in listed] == [f"{root}/x/1.pdf", f"{root}/x/2.pdf", f"{root}/y/3.pdf"]
    assert all(item.size == len(b"%PDF-1.7 x") and item.mtime_ns for item in listed)
    assert [item.uri for item in storage.list_inputs(f"{root}/x/*.pdf")] == [
        f"{root}/x/1.pdf",
        f"{root}/x/2.pdf",
    ]
    storage.write_bytes(f"s3://{s3_bucket}/list.txt", f"{root}/y/3.pdf\n{root}/gone.pdf\n".encode())
    from_list = storage.list_inputs(f"s3://{s3_bucket}/list.txt")
    assert [(item.uri, item.size is None) for item in from_list] == [
        (f"{root}/gone.pdf", True),
        (f"{root}/y/3.pdf", False),
    ]
    table = pa.table({"a": [1, 2]})
    storage.write_parquet(f"s3://{s3_bucket}/t/part.parquet", table)
    read = storage.read_parquet([f"s3://{s3_bucket}/t/part.parquet"])
    assert read is not None and read.column("a").to_pylist() == [1, 2]
    storage.delete(f"s3://{s3_bucket}/t/part.parquet")
    assert not storage.exists(f"s3://{s3_bucket}/t/part.parquet")


def test_storage_pickles_without_its_client(s3_server: MotoS3Server, s3_bucket: str) -> None:
    import pickle

    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    storage.write_bytes(f"s3://{s3_bucket}/k", b"v")
    clone = pickle.loads(pickle.dumps(storage))
    assert clone.read_bytes(f"s3://{s3_bucket}/k") == b"v"


def test_every_download_cache_follows_one_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cephalo_ray.extract.layoutparser_layout import cache_dir_default
    from cephalo_ray.models.loader import default_cache_dir

    monkeypatch.setenv("CEPHALO_CACHE", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache" / "models"
    assert cache_dir_default() == tmp_path / "cache" / "layout"
    monkeypatch.delenv("CEPHALO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "cephalo_ray" / "models"
    assert cache_dir_default() == tmp_path / "xdg" / "cephalo_ray" / "layout"


def test_listing_as_arrow_pages_equals_the_list(
    tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str
) -> None:
    local = Storage()
    names = ("a.pdf", "a/b.pdf", "a-1.pdf", "a0.pdf", "a/b/c.PDF", "a/b/d/e.pdf", "z.txt", "y/empty.md")
    for name in names:
        put(local, str(tmp_path / "in" / name))
    s3 = Storage(s3_endpoint_url=s3_server.endpoint_url)
    for name in names:
        put(s3, f"s3://{s3_bucket}/in/{name}")
    (tmp_path / "list.txt").write_text("in/a.pdf\nin/a.pdf\nin/gone.pdf\n")
    specs = [
        (local, str(tmp_path / "in")),
        (local, str(tmp_path / "in" / "**" / "*.pdf")),
        (local, str(tmp_path / "in" / "a.pdf")),
        (local, str(tmp_path / "list.txt")),
        (s3, f"s3://{s3_bucket}/in"),
        (s3, f"s3://{s3_bucket}/in/a/*.pdf"),
    ]
    for storage, spec in specs:
        listed = [(item.uri, item.size, item.mtime_ns) for item in storage.list_inputs(spec)]
        table = storage.list_input_table(spec, page=2)
        assert table.column_names == ["uri", "size", "mtime_ns"]
        assert list(zip(*table.to_pydict().values(), strict=True)) == listed, spec
    walked = [len(files) for files in local.walk_files(str(tmp_path / "in"), ".pdf")]
    assert walked == [2, 1, 1, 1, 1]  # one run of files per level, in URI order
    with pytest.raises(FileNotFoundError):
        local.list_input_table(str(tmp_path / "nowhere"))
    assert local.list_input_table(str(tmp_path / "in" / "y")).num_rows == 0


def test_a_local_glob_means_what_the_shells_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import glob

    storage = Storage()
    names = (
        "a.pdf", "b1.pdf", "b2.pdf", "bx.pdf", ".hidden.pdf", "sub/c.pdf", "sub/.dot/d.pdf",
        "sub/deeper/e.pdf", "sub/deeper/f.txt", "other/b1.pdf", "x-y/[z].pdf",
    )  # fmt: skip
    for name in names:
        put(storage, str(tmp_path / "in" / name))
    patterns = (
        "*.pdf", "b?.pdf", "b[0-9].pdf", "b[!0-9].pdf", "*/b1.pdf", "**/*.pdf", "sub/**/*.pdf",
        "sub/**", ".*.pdf", "sub/.*/*.pdf", "*/*/*.pdf", "x-y/*.pdf",
    )  # fmt: skip
    for pattern in patterns:
        absolute = str(tmp_path / "in" / pattern)
        expected = sorted(path for path in glob.glob(absolute, recursive=True) if Path(path).is_file())
        assert [item.uri for item in storage.list_inputs(absolute)] == expected, pattern
        assert storage.list_input_table(absolute, page=2).column("uri").to_pylist() == expected, pattern
    # a glob that matches nothing says so, as a folder that does not exist does
    for spec in (str(tmp_path / "in" / "nowhere" / "*.pdf"), str(tmp_path / "in" / "*.docx")):
        with pytest.raises(FileNotFoundError, match="no file matches"):
            storage.list_inputs(spec)
        with pytest.raises(FileNotFoundError, match="no file matches"):
            storage.list_input_table(spec)
    # a relative pattern is read from the working folder and named absolutely
    monkeypatch.chdir(tmp_path / "in")
    assert [item.uri for item in storage.list_inputs("sub/*.pdf")] == [str(tmp_path / "in" / "sub" / "c.pdf")]


def test_a_glob_walks_no_deeper_than_it_can_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = Storage()
    for name in ("top/a.pdf", "top/one/b.pdf", "top/one/two/c.pdf", "top/one/two/three/d.pdf"):
        put(storage, str(tmp_path / name))
    walked: list[str] = []
    real = Storage._walk

    def recording(
        self: Storage, fs: Any, uri: str, folder: str, suffix: str, depth: int | None = None
    ) -> Any:
        walked.append(Path(folder).name)
        return real(self, fs, uri, folder, suffix, depth)

    monkeypatch.setattr(Storage, "_walk", recording)
    assert [Path(item.uri).name for item in storage.list_inputs(str(tmp_path / "top" / "*" / "*.pdf"))] == [
        "b.pdf"
    ]
    assert walked == ["top", "one"]  # never "two" or "three"
    walked.clear()
    assert len(storage.list_inputs(str(tmp_path / "top" / "**" / "*.pdf"))) == 4
    assert walked == ["top", "one", "two", "three"]


def test_a_list_file_is_read_a_page_at_a_time_and_sorted_once(tmp_path: Path) -> None:
    storage = Storage()
    for name in ("c.pdf", "a.pdf", "b.pdf"):
        put(storage, str(tmp_path / "in" / name))
    listing = tmp_path / "inputs.lst"
    listing.write_text("in/c.pdf\n# a comment\nin/a.pdf\n\nin/c.pdf\nin/gone.pdf\nin/b.pdf\n")
    pages = [[Path(item.uri).name for item in page] for page in storage.read_list_file(str(listing), page=2)]
    assert pages == [["c.pdf", "a.pdf"], ["c.pdf", "gone.pdf"], ["b.pdf"]]  # as written, a page at a time
    table = storage.list_input_table(str(listing), page=2)
    assert [Path(uri).name for uri in table.column("uri").to_pylist()] == [
        "a.pdf",
        "b.pdf",
        "c.pdf",
        "gone.pdf",
    ]
    assert table.column("size").to_pylist() == [10, 10, 10, None]


def test_an_s3_prefix_is_listed_a_page_at_a_time_however_flat(
    s3_server: MotoS3Server, s3_bucket: str
) -> None:
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    root = f"s3://{s3_bucket}/archive"
    names = [f"{index:03d}.pdf" for index in range(8)] + ["sub/a.pdf", "sub/b.PDF", "sub/c.txt"]
    for name in names:
        put(storage, join(root, name))
    s3_server.client().put_object(Bucket=s3_bucket, Key="archive/empty-folder/", Body=b"")
    bucket_path = root[len("s3://") :]
    runs = [[item.uri for item in files] for files in storage._walk_s3(bucket_path, ".pdf", page=3)]
    # pages of the listing, not levels: the flat level is cut into pages, a page spans levels,
    # the non-PDF and the folder marker are dropped
    assert [len(run) for run in runs] == [3, 3, 2, 2]
    flat = [uri for run in runs for uri in run]
    whole = storage.list_files(root, ".pdf")
    assert flat == [item.uri for item in whole]
    paged = [item for files in storage._walk_s3(bucket_path, ".pdf", page=3) for item in files]
    assert [(item.size, item.mtime_ns) for item in paged] == [(item.size, item.mtime_ns) for item in whole]
    assert storage.list_input_table(root).column("uri").to_pylist() == flat
