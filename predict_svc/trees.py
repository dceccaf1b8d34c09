"""Evaluate a LightGBM model from its text dump with numpy alone (the serving path).

Why: importing ``lightgbm`` pulls in scipy and pandas (~50 MB resident per process) while the
service only ever *evaluates* a few hundred small trees per hour. The text dump
(``Booster.model_to_string()``, what the artifact stores) holds each tree's splits; evaluating
them the way LightGBM's ``Tree::Predict`` does gives the same doubles: the input is widened to
float64, a split sends ``x <= threshold`` left, missing values follow the split's default
direction (NaN is read as 0.0 unless the split's missing type is NaN, exactly like
``NumericalDecision``), and the raw score is the sum of the leaves in tree order starting from
0.0. Only what this project trains is supported (numerical splits, one output, no linear trees);
anything else is refused rather than mis-evaluated. tests/predict_svc/test_trees.py compares it
with ``Booster.predict`` on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tree", "TreeEnsemble", "TreeFormatError"]

_DEFAULT_LEFT = 2  # LightGBM kDefaultLeftMask
_CATEGORICAL = 1  # kCategoricalMask
_MISSING_ZERO, _MISSING_NAN = 1, 2  # (decision_type >> 2) & 3
_ZERO_THRESHOLD = 1e-35  # kZeroThreshold
_OBJECTIVES = ("quantile", "regression", "regression_l1")  # raw score = prediction, no link


class TreeFormatError(ValueError):
    """The dump is not a model this evaluator supports."""


@dataclass(frozen=True)
class Tree:
    """One regression tree; children < 0 are leaves (``~child`` is the leaf index)."""

    feature: np.ndarray  # int32, per internal node
    threshold: np.ndarray  # float64
    default_left: np.ndarray  # bool
    missing: np.ndarray  # int8: 0 none, 1 zero, 2 NaN
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    leaf_value: np.ndarray  # float64

    def leaf_values(self, X: np.ndarray) -> np.ndarray:
        """The leaf value each row of ``X`` (float64) lands in."""
        n = X.shape[0]
        if len(self.feature) == 0:
            return np.full(n, self.leaf_value[0])
        node = np.zeros(n, dtype=np.int64)
        rows = np.arange(n)
        active = np.ones(n, dtype=bool)
        while active.any():
            idx = rows[active]
            nd = node[idx]
            x = X[idx, self.feature[nd]]
            miss = self.missing[nd]
            is_nan = np.isnan(x)
            x = np.where(is_nan & (miss != _MISSING_NAN), 0.0, x)
            use_default = ((miss == _MISSING_ZERO) & (x > -_ZERO_THRESHOLD) & (x <= _ZERO_THRESHOLD)) | (
                (miss == _MISSING_NAN) & is_nan
            )
            with np.errstate(invalid="ignore"):
                go_left = np.where(use_default, self.default_left[nd], x <= self.threshold[nd])
            nxt = np.where(go_left, self.left[nd], self.right[nd])
            node[idx] = nxt
            active[idx] = nxt >= 0
        return self.leaf_value[~node]


def _values(fields: dict[str, str], key: str, dtype: type) -> np.ndarray:
    text = fields.get(key, "").strip()
    return np.array([dtype(v) for v in text.split()] if text else [], dtype=dtype)


def _parse_tree(fields: dict[str, str]) -> Tree:
    if int(fields.get("num_cat", "0")) != 0:
        raise TreeFormatError("categorical splits are not supported")
    if int(fields.get("is_linear", "0")) != 0:
        raise TreeFormatError("linear trees are not supported")
    leaf_value = _values(fields, "leaf_value", float)
    if int(fields["num_leaves"]) <= 1:  # a constant tree: no splits, one leaf
        none = np.zeros(0, dtype=np.int32)
        return Tree(none, np.zeros(0), np.zeros(0, dtype=bool), none.astype(np.int8), none, none, leaf_value)
    decision = _values(fields, "decision_type", int)
    if (decision & _CATEGORICAL).any():
        raise TreeFormatError("categorical splits are not supported")
    return Tree(
        feature=_values(fields, "split_feature", int).astype(np.int32),
        threshold=_values(fields, "threshold", float),
        default_left=(decision & _DEFAULT_LEFT) != 0,
        missing=((decision >> 2) & 3).astype(np.int8),
        left=_values(fields, "left_child", int).astype(np.int32),
        right=_values(fields, "right_child", int).astype(np.int32),
        leaf_value=leaf_value,
    )


@dataclass(frozen=True)
class TreeEnsemble:
    """A parsed ``model_to_string()`` dump; :meth:`predict` equals ``Booster.predict`` (raw)."""

    trees: tuple[Tree, ...]
    num_features: int
    text: str  # the dump itself, written back unchanged into artifacts

    @classmethod
    def parse(cls, text: str) -> TreeEnsemble:
        header, _, rest = text.partition("\nTree=")
        head = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
        try:
            if int(head.get("num_tree_per_iteration", "1")) != 1 or int(head.get("num_class", "1")) != 1:
                raise TreeFormatError("multi-output models are not supported")
            objective = (head.get("objective", "").split() or [""])[0]
            if objective not in _OBJECTIVES:
                raise TreeFormatError(f"objective {head.get('objective')!r} is not supported")
            if "average_output" in head:
                raise TreeFormatError("averaged (random forest) models are not supported")
            num_features = int(head["max_feature_idx"]) + 1
            body = rest.split("end of trees", 1)[0] if rest else ""
            trees = []
            for block in ("Tree=" + body).split("\nTree=") if body else []:
                fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                trees.append(_parse_tree(fields))
        except (KeyError, ValueError) as exc:
            if isinstance(exc, TreeFormatError):
                raise
            raise TreeFormatError(f"unreadable model dump: {exc}") from exc
        if not trees:
            raise TreeFormatError("model dump holds no trees")
        return cls(tuple(trees), num_features, text)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (float64) for the rows of ``X`` (any float dtype, NaN = missing)."""
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} feature columns, got shape {data.shape}")
        out = np.zeros(data.shape[0])
        for tree in self.trees:  # summed in tree order from 0.0, as LightGBM does
            out += tree.leaf_values(data)
        return out
