"""Train/val split by document with an exact target: whole documents go to val until val holds the
requested share of pairs, as near as whole documents allow.

Documents are taken in the order of a hash of their id (deterministic, and unrelated to file order or
size); a document joins val when that brings val closer to the target. Documents that already have
refined rows keep their split (`fixed`), so a corpus that grows between runs never moves a document
from train to val: no document is ever on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

TRAIN = "train"
VAL = "val"


@dataclass(frozen=True)
class SplitPlan:
    val_documents: frozenset[str]
    train_pairs: int
    val_pairs: int
    train_documents: int

    @property
    def achieved_val_fraction(self) -> float:
        total = self.train_pairs + self.val_pairs
        return self.val_pairs / total if total else 0.0

    def split_of(self, doc_id: str) -> str:
        return VAL if doc_id in self.val_documents else TRAIN

    def report(self) -> dict[str, float | int]:
        return {
            "train_pairs": self.train_pairs,
            "val_pairs": self.val_pairs,
            "train_documents": self.train_documents,
            "val_documents": len(self.val_documents),
            "val_fraction_achieved": round(self.achieved_val_fraction, 4),
        }


def hash_order(doc_id: str) -> str:
    return hashlib.sha256(doc_id.encode()).hexdigest()


def plan_split(
    pairs_per_document: Mapping[str, int], val_fraction: float, fixed: Mapping[str, str] | None = None
) -> SplitPlan:
    """Assign every document to train or val so that val holds `val_fraction` of the pairs.

    Args:
        pairs_per_document: doc_id -> its number of pairs.
        val_fraction: the share of pairs wanted in val (0: none).
        fixed: doc_id -> split of documents assigned before; they keep it.
    """
    fixed = dict(fixed or {})
    total = sum(pairs_per_document.values())
    target = val_fraction * total
    val = {doc for doc, split in fixed.items() if split == VAL and doc in pairs_per_document}
    val_pairs = sum(pairs_per_document[doc] for doc in val)
    open_documents = sorted((doc for doc in pairs_per_document if doc not in fixed), key=hash_order)
    train_left = sum(1 for doc, split in fixed.items() if split == TRAIN and doc in pairs_per_document)
    for index, doc in enumerate(open_documents):
        size = pairs_per_document[doc]
        last_for_train = train_left == 0 and index == len(open_documents) - 1
        if (
            val_fraction > 0
            and not last_for_train
            and abs(val_pairs + size - target) < abs(val_pairs - target)
        ):
            val.add(doc)
            val_pairs += size
        else:
            train_left += 1
    return SplitPlan(
        val_documents=frozenset(val),
        train_pairs=total - val_pairs,
        val_pairs=val_pairs,
        train_documents=len(pairs_per_document) - len(val),
    )
