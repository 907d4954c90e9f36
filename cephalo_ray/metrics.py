"""Answer metrics, one definition each: the eval job's table and the training report's VQA numbers
both use these, so a name means the same thing wherever it is printed.

Answers are normalised as in VQA scoring: NFKC, lower case, punctuation and the articles removed.
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter

ARTICLES = {"a", "an", "the"}
PUNCTUATION = str.maketrans({character: " " for character in string.punctuation})


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower().translate(PUNCTUATION)
    return " ".join(word for word in text.split() if word not in ARTICLES)


def exact_match(prediction: str, reference: str) -> bool:
    return normalize(prediction) == normalize(reference)


def contains(prediction: str, reference: str) -> bool:
    """The normalised reference appears in the normalised prediction as whole words."""
    wanted = normalize(reference)
    return bool(wanted) and f" {wanted} " in f" {normalize(prediction)} "


def token_f1(prediction: str, reference: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure on normalised words (longest common subsequence)."""
    predicted, expected = normalize(prediction).split(), normalize(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    previous = [0] * (len(expected) + 1)
    for word in predicted:
        current = [0]
        for column, other in enumerate(expected):
            current.append(
                previous[column] + 1 if word == other else max(previous[column + 1], current[column])
            )
        previous = current
    longest = previous[-1]
    if longest == 0:
        return 0.0
    precision, recall = longest / len(predicted), longest / len(expected)
    return 2 * precision * recall / (precision + recall)
