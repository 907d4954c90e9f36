"""The development corpus's PDFs: fetched from where the gold says they came from, and verified.

The papers are third-party documents, so the repository keeps only their gold and provenance
(`bench/gold/dev/*.json`: repository, commit, path, sha256, and for an excerpt its page range).

    python -m bench.gold.corpus fetch DIR        # download each PDF at its commit (needs the network)
    python -m bench.gold.corpus verify DIR       # every gold document present with the right bytes

`fetch` takes each file from GitHub at the recorded commit, cuts an excerpt to its pages, and checks
the sha256; a file already in DIR with the right hash is kept. An excerpt cut by another pymupdf
version may differ in bytes but not in its pages: it is kept and reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

GOLD = Path(__file__).resolve().parent / "dev"
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def gold_documents(gold: Path = GOLD) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(gold.glob("*.json"))]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def excerpt(pdf: bytes, first: int, last: int) -> bytes:
    """Pages first..last (1-based, inclusive) of a PDF."""
    import pymupdf

    doc = pymupdf.open(stream=pdf, filetype="pdf")
    try:
        doc.select(list(range(first - 1, last)))
    except pymupdf.mupdf.FzErrorBase:
        # a catalog whose structure tree points at nothing ("not a dict (null)") cannot be cut in
        # place: the pages are copied into a new document instead, without the broken tree
        source, doc = doc, pymupdf.open()
        doc.insert_pdf(source, from_page=first - 1, to_page=last - 1, links=False, annots=False)
    # no random trailer ID: the same pages give the same bytes every time
    data: bytes = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    return data


def fetch(folder: Path, gold: Path = GOLD) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    problems = 0
    for document in gold_documents(gold):
        target = folder / document["document"]
        if target.exists() and sha256(target.read_bytes()) == document["sha256"]:
            continue
        provenance = document["provenance"]
        # paths with spaces or other reserved characters (many repositories have them) are quoted
        url = RAW_URL.format(**{**provenance, "path": urllib.parse.quote(provenance["path"])})
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as error:
            print(f"{document['document']}: cannot fetch {url}: {error}")
            problems += 1
            continue
        if "pages" in provenance:
            data = excerpt(data, *provenance["pages"])
        target.write_bytes(data)
        if sha256(data) != document["sha256"]:
            note = "an excerpt: bytes differ, pages the same" if "pages" in provenance else "WRONG BYTES"
            print(f"{document['document']}: sha256 differs ({note})")
            problems += "pages" not in provenance
    return problems


def verify(folder: Path, gold: Path = GOLD) -> int:
    problems = 0
    for document in gold_documents(gold):
        path = folder / document["document"]
        if not path.exists():
            print(f"missing: {document['document']}")
            problems += 1
        elif sha256(path.read_bytes()) != document["sha256"]:
            print(f"sha256 differs: {document['document']}")
            problems += 1
    print(f"{len(gold_documents(gold)) - problems} of {len(gold_documents(gold))} documents verified")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("fetch", "verify"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--gold", type=Path, default=GOLD)
    arguments = parser.parse_args(argv)
    run = fetch if arguments.command == "fetch" else verify
    return 1 if run(arguments.folder, arguments.gold) else 0


if __name__ == "__main__":
    sys.exit(main())
