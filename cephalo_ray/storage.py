"""The only module that knows URIs: local paths and `s3://bucket/key`, through `pyarrow.fs` (and
boto3 for S3 listings, which pyarrow cannot page).

S3-compatible endpoints (MinIO, Ceph, a loopback test server) come from config; credentials come
only from the standard AWS chain (environment, profile, instance role), never from config.
"""

from __future__ import annotations

import calendar
import fnmatch
import io
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

GLOB_CHARS = "*?["
LIST_FILE_SUFFIXES = (".txt", ".lst", ".list")
LISTING_PAGE = 10_000  # inputs per Arrow page of a listing: what the driver holds as Python objects
LIST_FILE_LOOKUPS = 16  # a list file's entries looked up at once (each a HEAD request on S3)
S3_LISTING_PAGE = 1000  # keys per ListObjectsV2 request: the most S3 returns


@dataclass(frozen=True)
class InputFile:
    """One listed input. `size` is None when a list file names something that does not exist."""

    uri: str
    size: int | None
    mtime_ns: int | None


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def join(root: str, *parts: str) -> str:
    """Join URI parts with `/` (local roots keep their own form)."""
    if not is_s3(root):
        return str(Path(root, *parts))
    return "/".join([root.rstrip("/"), *(part.strip("/") for part in parts)])


def name_of(uri: str) -> str:
    """The last path component of a URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Storage:
    """Reads, lists and writes local and S3 URIs. Cheap to build and to pickle into Ray workers.

    Args:
        s3_endpoint_url: an S3-compatible endpoint such as `http://127.0.0.1:9000`; None uses AWS
            (or `AWS_ENDPOINT_URL` when set).
        s3_region: the bucket region; None lets the AWS chain decide.
    """

    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    _s3: Any = field(default=None, init=False, repr=False, compare=False)
    _s3_client: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "s3_endpoint_url": self.s3_endpoint_url,
            "s3_region": self.s3_region,
            "_s3": None,
            "_s3_client": None,
        }

    def _filesystem(self, uri: str) -> tuple[pafs.FileSystem, str]:
        import pyarrow.fs as pafs

        if not is_s3(uri):
            return pafs.LocalFileSystem(), os.path.abspath(uri)
        if self._s3 is None:
            self._s3 = make_s3_filesystem(self.s3_endpoint_url, self.s3_region)
        return self._s3, uri[len("s3://") :]

    def filesystem_and_paths(self, uris: list[str]) -> tuple[pafs.FileSystem, list[str]]:
        """One filesystem and its paths for URIs of one kind (all local or all S3), for Ray Data readers."""
        if len({is_s3(uri) for uri in uris}) > 1:
            raise ValueError("cannot read local and s3:// files in one dataset")
        pairs = [self._filesystem(uri) for uri in uris] or [self._filesystem(".")]
        return pairs[0][0], [path for _, path in pairs[: len(uris)]]

    def _uri(self, original: str, path: str) -> str:
        return f"s3://{path}" if is_s3(original) else path

    # -- reading -----------------------------------------------------------------------------

    def stat(self, uri: str) -> InputFile:
        """Size and modification time of a file, without reading it."""
        import pyarrow.fs as pafs

        fs, path = self._filesystem(uri)
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return InputFile(uri, None, None)
        return InputFile(uri, info.size, info.mtime_ns)

    def exists(self, uri: str) -> bool:
        import pyarrow.fs as pafs

        fs, path = self._filesystem(uri)
        return fs.get_file_info(path).type != pafs.FileType.NotFound

    def read_bytes(self, uri: str) -> bytes:
        fs, path = self._filesystem(uri)
        with fs.open_input_stream(path) as stream:
            return stream.read()

    def list_files(self, uri: str, suffix: str = "", recursive: bool = True) -> list[InputFile]:
        """Files under a folder or prefix whose names end with `suffix` (case-insensitive), sorted."""
        import pyarrow.fs as pafs

        fs, path = self._filesystem(uri)
        if fs.get_file_info(path).type == pafs.FileType.NotFound:
            return []
        selector = pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
        found = [
            InputFile(self._uri(uri, info.path), info.size, info.mtime_ns)
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.File and info.path.lower().endswith(suffix.lower())
        ]
        return sorted(found, key=lambda item: item.uri)

    def read_parquet(self, uris: list[str], columns: list[str] | None = None) -> pa.Table | None:
        """Concatenate Parquet files (only `columns`, when given); None when the list is empty."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for uri in uris:
            fs, path = self._filesystem(uri)
            tables.append(pq.read_table(path, filesystem=fs, columns=columns))
        return pa.concat_tables(tables, promote_options="default") if tables else None

    # -- writing -----------------------------------------------------------------------------

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a whole file so that readers see the old file or the new one, never a torn one."""
        fs, path = self._filesystem(uri)
        if is_s3(uri):  # an S3 PUT is atomic
            with fs.open_output_stream(path) as stream:
                stream.write(data)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{uuid.uuid4().hex}.partial"
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    def write_parquet(self, uri: str, table: pa.Table) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        self.write_bytes(uri, sink.getvalue().to_pybytes())

    def delete(self, uri: str) -> None:
        fs, path = self._filesystem(uri)
        fs.delete_file(path)

    def walk_files(self, uri: str, suffix: str = "") -> Iterator[list[InputFile]]:
        """Files under a folder or prefix whose names end with `suffix` (case-insensitive), in URI
        order, a folder at a time locally and a listing page at a time on S3: the driver holds the
        entries of the levels it is in (one page of a prefix), never the whole tree's.

        Yields:
            Runs of files, sorted: one level's locally, one listing page's on S3.
        """
        import pyarrow.fs as pafs

        fs, path = self._filesystem(uri)
        if fs.get_file_info(path).type != pafs.FileType.Directory:
            return
        if is_s3(uri):
            yield from self._walk_s3(path, suffix.lower())
        else:
            yield from self._walk(fs, uri, path, suffix.lower())

    def _walk_s3(self, path: str, suffix: str, page: int = S3_LISTING_PAGE) -> Iterator[list[InputFile]]:
        """Every object under an S3 prefix, a listing page at a time. One flat ListObjectsV2 walk
        with no delimiter: S3 returns keys in byte order, which is URI order, so the driver holds
        one page however many keys share a level (a flat prefix of millions of papers included),
        and pays one request per `page` keys whatever the folder structure."""
        bucket, _, key = path.partition("/")
        prefix = f"{key.rstrip('/')}/" if key else ""
        pages = (
            self._s3_listing_client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page})
        )
        for response in pages:
            files = [
                InputFile(f"s3://{bucket}/{entry['Key']}", entry["Size"], nanoseconds(entry["LastModified"]))
                for entry in response.get("Contents", [])
                # a key ending in "/" is a console-made folder marker, not a file
                if not entry["Key"].endswith("/") and entry["Key"].lower().endswith(suffix)
            ]
            if files:
                yield files

    def _s3_listing_client(self) -> Any:
        """A boto3 S3 client for paged listings (pyarrow lists a level whole); the same endpoint,
        region and AWS credential chain as the filesystem."""
        if self._s3_client is None:
            import boto3

            self._s3_client = boto3.client(
                "s3", endpoint_url=s3_endpoint(self.s3_endpoint_url), region_name=self.s3_region
            )
        return self._s3_client

    def _walk(
        self, fs: pafs.FileSystem, uri: str, folder: str, suffix: str, depth: int | None = None
    ) -> Iterator[list[InputFile]]:
        """`depth`: how many levels of sub-folders to enter (None: all)."""
        import pyarrow.fs as pafs

        entries = fs.get_file_info(pafs.FileSelector(folder, recursive=False, allow_not_found=True))
        # a folder sorts among its siblings' files as its name + "/": so the walk is in URI order
        entries.sort(key=lambda info: info.path + ("/" if info.type == pafs.FileType.Directory else ""))
        files: list[InputFile] = []
        for info in entries:
            if info.type == pafs.FileType.Directory:
                if depth == 0:
                    continue
                if files:
                    yield files
                    files = []
                yield from self._walk(fs, uri, info.path, suffix, None if depth is None else depth - 1)
            elif info.type == pafs.FileType.File and info.path.lower().endswith(suffix):
                files.append(InputFile(self._uri(uri, info.path), info.size, info.mtime_ns))
        if files:
            yield files

    # -- inputs ------------------------------------------------------------------------------

    def list_input_table(self, spec: str, suffix: str = ".pdf", page: int = LISTING_PAGE) -> pa.Table:
        """`list_inputs` as an Arrow table (uri, size, mtime_ns), built a page at a time, so the
        driver holds tens of bytes per input rather than a Python object; sorted, deduplicated.
        Folders and globs are walked a level (S3: a listing page) at a time, already in URI order;
        a list file is read and looked up a page of lines at a time, then sorted as Arrow columns."""
        import pyarrow as pa

        runs: Iterable[list[InputFile]]
        if any(char in spec for char in GLOB_CHARS):
            runs = self.walk_glob(spec)
        elif spec.lower().endswith(LIST_FILE_SUFFIXES):
            return sorted_unique(
                pa.concat_tables([input_table(files) for files in self.read_list_file(spec, page)])
            )
        else:
            single = self.stat(spec) if spec.lower().endswith(suffix) else None
            # a walk is in URI order and names each file once: no sort, no copy
            runs = (
                [[single]]
                if single is not None and single.size is not None
                else self.walk_files(spec, suffix)
            )
        pages = (part for files in runs for part in chunked(files, page))
        tables = [input_table(files) for files in pages]
        if not tables and any(char in spec for char in GLOB_CHARS):
            raise FileNotFoundError(f"no file matches {spec}")
        if not tables and not self.exists(spec):
            raise FileNotFoundError(f"input {spec} does not exist")
        return pa.concat_tables(tables) if tables else input_table([])

    def list_inputs(self, spec: str, suffix: str = ".pdf") -> list[InputFile]:
        """Resolve an input spec: a folder (recursive), a glob, an `s3://` prefix, one file, or a
        list file (`.txt`/`.lst`/`.list`, one URI per line, `#` comments). Sorted, deduplicated."""
        if any(char in spec for char in GLOB_CHARS):
            found = self._glob(spec)
        elif spec.lower().endswith(LIST_FILE_SUFFIXES):
            found = self._list_file(spec)
        elif spec.lower().endswith(suffix) and self.stat(spec).size is not None:
            found = [self.stat(spec)]
        else:
            found = self.list_files(spec, suffix)
            if not found and not self.exists(spec):
                raise FileNotFoundError(f"input {spec} does not exist")
        unique = {item.uri: item for item in found}
        return [unique[uri] for uri in sorted(unique)]

    def _glob(self, pattern: str) -> list[InputFile]:
        found = [item for files in self.walk_glob(pattern) for item in files]
        if not found:
            raise FileNotFoundError(f"no file matches {pattern}")
        return found

    def walk_glob(self, pattern: str) -> Iterator[list[InputFile]]:
        """Files matching a glob, in URI order, a folder (or S3 listing page) at a time: the walk
        starts at the pattern's fixed part and, locally, goes no deeper than the pattern can reach.
        Locally the glob means what the shell's does (`*` within a name, `**` any folders, hidden
        names only by a pattern that starts with a dot); on S3, `*` matches across `/` as well."""
        import pyarrow.fs as pafs

        first_glob = min(pattern.index(char) for char in GLOB_CHARS if char in pattern)
        fixed = pattern[:first_glob].rsplit("/", 1)[0] if "/" in pattern[:first_glob] else ""
        fs, folder = self._filesystem(fixed or ".")
        if fs.get_file_info(folder).type != pafs.FileType.Directory:
            return
        if is_s3(pattern):
            for files in self._walk_s3(folder, ""):
                matched = [item for item in files if fnmatch.fnmatchcase(item.uri, pattern)]
                if matched:
                    yield matched
            return
        absolute = os.path.join(os.path.abspath(fixed or "."), pattern[len(fixed) :].lstrip("/"))
        matcher = local_glob_regex(absolute)
        rest = absolute[len(folder) :].strip("/").split("/")
        depth = None if "**" in rest else len(rest) - 1
        for files in self._walk(fs, fixed or ".", folder, "", depth):
            matched = [item for item in files if matcher.fullmatch(item.uri)]
            if matched:
                yield matched

    def read_list_file(self, uri: str, page: int = LISTING_PAGE) -> Iterator[list[InputFile]]:
        """The entries of a list file (one URI per line, `#` comments, relative paths from the
        file's folder), looked up a page at a time, several at once (each is a request on S3)."""
        from concurrent.futures import ThreadPoolExecutor

        base = os.path.dirname(os.path.abspath(uri)) if not is_s3(uri) else None
        fs, path = self._filesystem(uri)
        with fs.open_input_stream(path) as stream, ThreadPoolExecutor(LIST_FILE_LOOKUPS) as pool:
            entries: list[str] = []
            for raw in io.TextIOWrapper(stream, encoding="utf-8"):  # type: ignore[arg-type]
                entry = raw.strip()
                if not entry or entry.startswith("#"):
                    continue
                entries.append(entry if is_s3(entry) or base is None else join(base, entry))
                if len(entries) == page:
                    yield list(pool.map(self.stat, entries))
                    entries = []
            if entries:
                yield list(pool.map(self.stat, entries))

    def _list_file(self, uri: str) -> list[InputFile]:
        return [item for files in self.read_list_file(uri) for item in files]


def local_glob_regex(pattern: str) -> re.Pattern[str]:
    """A compiled regex for an absolute local glob, with the shell's meaning (as `glob.glob` with
    `recursive=True`): `*`, `?` and `[...]` within one name, `**` as a whole name for any number of
    folders, and names that start with a dot matched only by a part that starts with one."""
    parts = pattern.split("/")
    regex = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex += r"(?:[^/.][^/]*/)*" if not last else r"(?:[^/.][^/]*/)*[^/.][^/]*"
            continue
        regex += ("" if part.startswith(".") else r"(?!\.)") if part else ""
        regex += glob_part_regex(part) + ("" if last else "/")
    return re.compile(regex)


def glob_part_regex(part: str) -> str:
    out, index = "", 0
    while index < len(part):
        char = part[index]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and (close := part.find("]", index + 2)) != -1:
            inside = part[index + 1 : close]
            negate = inside.startswith("!")
            inside = re.escape(inside[1:] if negate else inside).replace(r"\-", "-")
            out += f"[{'^' if negate else ''}{inside}]"
            index = close
        else:
            out += re.escape(char)
        index += 1
    return out


def sorted_unique(table: pa.Table) -> pa.Table:
    """Rows sorted by uri, each uri once, as Arrow columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return table
    ordered = table.take(pc.sort_indices(table, [("uri", "ascending")]))
    uris = ordered.column("uri").combine_chunks()
    repeated = pc.equal(uris.slice(1), uris.slice(0, len(uris) - 1))
    return ordered.filter(pa.concat_arrays([pa.array([True]), pc.invert(repeated)]))


def input_table(files: Iterable[InputFile]) -> pa.Table:
    """Listed inputs as Arrow columns: uri, size, mtime_ns."""
    import pyarrow as pa

    files = list(files)
    return pa.table(
        {
            "uri": pa.array([item.uri for item in files], pa.string()),
            "size": pa.array([item.size for item in files], pa.int64()),
            "mtime_ns": pa.array([item.mtime_ns for item in files], pa.int64()),
        }
    )


class InputListing(Sequence[InputFile]):
    """Listed inputs kept as Arrow columns (`input_table`), read as `InputFile`s one at a time."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @overload
    def __getitem__(self, index: int) -> InputFile: ...

    @overload
    def __getitem__(self, index: slice) -> InputListing: ...

    def __getitem__(self, index: int | slice) -> InputFile | InputListing:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return InputListing(self.table.slice(start, max(0, stop - start)))
            return InputListing(self.table.take(list(range(start, stop, step))))
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        row = self.table.slice(index % len(self), 1).to_pylist()[0]
        return InputFile(row["uri"], row["size"], row["mtime_ns"])


def chunked(items: list[InputFile], size: int) -> Iterator[list[InputFile]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def s3_endpoint(configured: str | None) -> str | None:
    """The S3 endpoint: the configured one, else the AWS environment's, else None (AWS itself)."""
    return configured or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def nanoseconds(moment: datetime) -> int:
    """A timestamp as integer nanoseconds since the epoch, exactly (no float rounding)."""
    seconds = calendar.timegm(moment.utctimetuple())
    return seconds * 1_000_000_000 + moment.microsecond * 1000


def make_s3_filesystem(endpoint_url: str | None, region: str | None) -> pafs.S3FileSystem:
    """An S3 filesystem for AWS or an S3-compatible endpoint; credentials from the AWS chain."""
    import pyarrow.fs as pafs

    endpoint_url = s3_endpoint(endpoint_url)
    options: dict[str, Any] = {}
    if region:
        options["region"] = region
    if endpoint_url:
        parsed = urlparse(endpoint_url if "://" in endpoint_url else f"https://{endpoint_url}")
        options["endpoint_override"] = parsed.netloc + parsed.path.rstrip("/")
        options["scheme"] = parsed.scheme
        options.setdefault("region", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return pafs.S3FileSystem(**options)


def cache_dir(kind: str) -> Path:
    """Where downloads of one kind (`models`, `layout`) are kept: `$CEPHALO_CACHE/<kind>`, else
    `$XDG_CACHE_HOME/cephalo_ray/<kind>`, else `~/.cache/cephalo_ray/<kind>`. One variable for all."""
    root = os.environ.get("CEPHALO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cephalo_ray"
    )
    return Path(root) / kind
