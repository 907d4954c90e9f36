"""Train/val split by whole documents with an exact target share of pairs."""

from __future__ import annotations

import random

from cephalo_ray.refine.split import TRAIN, VAL, plan_split


def corpus(documents: int, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    return {f"doc-{index}": rng.randint(1, 12) for index in range(documents)}


def test_val_holds_the_requested_share_of_pairs_as_near_as_whole_documents_allow() -> None:
    for documents, fraction in ((13, 0.05), (40, 0.1), (300, 0.05), (1000, 0.2)):
        sizes = corpus(documents, seed=documents)
        plan = plan_split(sizes, fraction)
        total = sum(sizes.values())
        assert plan.train_pairs + plan.val_pairs == total
        assert plan.val_pairs == sum(sizes[doc] for doc in plan.val_documents)
        # never further from the target than half the largest document
        assert abs(plan.val_pairs - fraction * total) <= max(sizes.values()) / 2, (documents, plan.report())
        assert plan.val_documents and plan.train_documents
        assert plan_split(dict(reversed(list(sizes.items()))), fraction) == plan  # order does not matter


def test_the_small_corpus_that_hash_buckets_split_badly() -> None:
    """13 papers of about 10 pairs: hashing whole documents into buckets put 35-39 % in val."""
    sizes = {f"paper-{index}": 10 for index in range(13)}
    plan = plan_split(sizes, 0.05)
    assert plan.report() == {
        "train_pairs": 120,
        "val_pairs": 10,
        "train_documents": 12,
        "val_documents": 1,
        "val_fraction_achieved": 0.0769,
    }


def test_documents_assigned_before_keep_their_split_as_the_corpus_grows() -> None:
    first = corpus(50, seed=1)
    before = plan_split(first, 0.1)
    fixed = {doc: before.split_of(doc) for doc in first}
    grown = {**first, **{f"new-{index}": 5 for index in range(50)}}
    after = plan_split(grown, 0.1, fixed)
    assert all(after.split_of(doc) == split for doc, split in fixed.items())  # nobody crosses over
    total = sum(grown.values())
    assert abs(after.val_pairs - 0.1 * total) <= 5  # the new documents bring it back to the target


def test_no_val_when_none_is_asked_and_never_an_empty_train() -> None:
    sizes = corpus(20)
    assert plan_split(sizes, 0.0).val_documents == frozenset()
    assert plan_split({"only": 7}, 0.5).split_of("only") == TRAIN
    assert plan_split({"a": 1, "b": 1}, 0.9).report()["train_documents"] == 1
    # one big document and a 5 % target: val cannot be had by whole documents
    assert plan_split({"big": 40}, 0.05).val_documents == frozenset()
    assert VAL not in {plan_split({"a": 30, "b": 30}, 0.05).split_of(doc) for doc in ("a", "b")}
