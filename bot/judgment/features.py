"""What the learned models see of a post: its words, and what the rules said about it.

The text part is hashed word unigrams and bigrams (scikit-learn's `HashingVectorizer`:
no vocabulary to store or grow, so a model can learn online from the first label). The
rules' part lets a model learn *when the rules are right*: which department they chose,
their score per department, each keyword that matched (a keyword that keeps sending
posts to the wrong team gets a negative weight), and for complaints the cue names,
VADER's compound and the rules' margin. A model on both starts out agreeing with the
rules and moves away from them only where the labels say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
from sklearn.preprocessing import normalize

from bot.judgment.routing import Route
from bot.judgment.sentiment import SentimentResult
from bot.text import clean

TEXT_FEATURES = 2 ** 17  # hashed word n-grams; collisions are rare at tweet length
RULE_FEATURES = 2 ** 12  # hashed rule tokens (a few hundred keywords at most)
SCORE_CAP = 3.0  # a rules' score above this says nothing more
RULE_WEIGHT = 0.5  # the rules' part of a row against the text part (both unit length)


def _preprocess(text: str) -> str:
    return clean(text).lower()


def _tokens(doc: Any) -> Any:  # the rule tokens come already split
    return doc


_TEXT = HashingVectorizer(n_features=TEXT_FEATURES, ngram_range=(1, 2), alternate_sign=False,
                          preprocessor=_preprocess, norm="l2")
_RULES = HashingVectorizer(n_features=RULE_FEATURES, analyzer=_tokens, alternate_sign=False,
                           norm="l2")


def text_rows(texts: Sequence[str]) -> sparse.csr_matrix:
    """L2-normalized hashed n-grams, one row per text (also used for "similar to")."""
    return _TEXT.transform(texts)


# For "is this post like a labelled one", common words are left out: two posts do not
# look alike for sharing "the", "my" and "to", and the similarity search stays sparse.
# Their hashed columns are known in advance, so one tokenizing pass serves both uses.
_STOP_COLUMNS = np.unique(_TEXT.transform(sorted(ENGLISH_STOP_WORDS)).indices)


def memory_rows(text_part: sparse.csr_matrix) -> sparse.csr_matrix:
    """`text_rows` without common single words, L2-normalized: for similarity."""
    rows = text_part.copy()
    rows.data[np.isin(rows.indices, _STOP_COLUMNS)] = 0.0
    rows.eliminate_zeros()
    return normalize(rows)


def route_rows(text_part: sparse.csr_matrix, routes: Sequence[Route],
               departments: Sequence[str]) -> sparse.csr_matrix:
    """Features for the routing model: text plus the rules' choice, scores and keywords."""
    choice = [[f"R={r.department}"] + ([] if r.scores else ["R=default"]) for r in routes]
    keywords = [[f"K={dep}:{kw}" for dep, kws in r.matched.items() for kw in kws] or ["K=none"]
                for r in routes]
    scores = np.zeros((len(routes), len(departments)))
    for row, route in enumerate(routes):
        for col, dep in enumerate(departments):
            scores[row, col] = min(route.scores.get(dep, 0.0), SCORE_CAP) / SCORE_CAP
    rules = sparse.hstack([_RULES.transform(choice), _RULES.transform(keywords),
                           sparse.csr_matrix(scores)], format="csr")
    return sparse.hstack([text_part, rules * RULE_WEIGHT], format="csr")


def complaint_rows(text_part: sparse.csr_matrix, feelings: Sequence[SentimentResult]
                   ) -> sparse.csr_matrix:
    """Features for the complaint model: text plus the rules' cues, VADER and margin."""
    cues = [[f"C={c}" for c in f.cues] or ["C=none"] for f in feelings]
    numbers = np.array([[float(np.clip(f.margin, -2.0, 2.0)) / 2.0, f.compound,
                         1.0 if f.complaint else -1.0] for f in feelings]).reshape(-1, 3)
    return sparse.hstack([text_part, _RULES.transform(cues), sparse.csr_matrix(numbers)],
                         format="csr")


def similarities(rows: sparse.csr_matrix, memory: sparse.csr_matrix) -> sparse.csr_matrix:
    """Cosine similarity of each row to each memory row (both L2-normalized), sparse."""
    return (rows @ memory.T).tocsr()


def best_of(sims: sparse.csr_matrix, row: int, allowed: np.ndarray | None = None
            ) -> tuple[int, float]:
    """The memory row most similar to `row` (among `allowed`, a boolean mask), or -1."""
    start, end = sims.indptr[row], sims.indptr[row + 1]
    cols, vals = sims.indices[start:end], sims.data[start:end]
    if allowed is not None:
        keep = allowed[cols]
        cols, vals = cols[keep], vals[keep]
    if len(vals) == 0:
        return -1, 0.0
    k = int(vals.argmax())
    return int(cols[k]), float(vals[k])


def row_max(sims: sparse.csr_matrix) -> np.ndarray:
    """Each row's largest value (0 for an empty row), without sorting the matrix."""
    out = np.zeros(sims.shape[0])
    filled = np.flatnonzero(np.diff(sims.indptr) > 0)
    if len(filled):
        out[filled] = np.maximum.reduceat(sims.data, sims.indptr[filled])
    return out
