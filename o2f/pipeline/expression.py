"""A claim's comparison: arithmetic over named cells, written as text in ``configs/tables.yaml``.

The grammar is Python's, cut down to numbers, names, ``+ - * /``, unary minus and four functions
over per-epoch curves (``first``, ``last``, ``max``, ``min``). Parsing it once at load lets the plan
name a typo before any job starts; its linear form (when it has one) lets the report combine runs
whose seeds differ.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

import pandas as pd

from ..errors import O2FError

BINARY: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                ast.Div: operator.truediv}


def _series(value, name: str) -> pd.Series:
    if not isinstance(value, pd.Series):
        raise O2FError(f"{name}() takes a curve (a figure's per-epoch cell), not a single value")
    value = value.dropna()
    if value.empty:
        raise O2FError(f"{name}() of a curve without epochs")
    return value


FUNCTIONS: dict[str, Callable] = {
    "first": lambda c: float(_series(c, "first").iloc[0]),
    "last": lambda c: float(_series(c, "last").iloc[-1]),
    "max": lambda c: float(_series(c, "max").max()),
    "min": lambda c: float(_series(c, "min").min()),
}

SCALAR_FUNCTIONS: dict[str, Callable] = {"max": max, "min": min}  # over several cells' values


class Expression:
    """A parsed comparison; ``names`` are the cells it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError as err:
            raise O2FError(f"cannot parse comparison '{text}': {err.msg}") from err
        self.names: list[str] = []
        self._check(self.tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                self.names.append(node.id)
            return
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            self._check(node.left)
            self._check(node.right)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._check(node.operand)
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                and (len(node.args) == 1 or node.func.id in SCALAR_FUNCTIONS) and node.args and not node.keywords):
            for arg in node.args:
                self._check(arg)
            return
        raise O2FError(f"comparison '{self.text}': '{ast.unparse(node)}' is not allowed (numbers, cell names, "
                       f"+ - * /, {', '.join(f'{f}(curve)' for f in FUNCTIONS)} and "
                       f"{', '.join(f'{f}(a, b, ...)' for f in SCALAR_FUNCTIONS)})")

    def evaluate(self, values: Mapping[str, object]) -> float:
        """The comparison's value; a cell is a float or, for a figure's curve, a Series indexed by epoch."""
        result = self._eval(self.tree, values)
        if isinstance(result, pd.Series):
            raise O2FError(f"comparison '{self.text}' gives a curve; reduce it with first/last/max/min")
        return float(result)

    def _eval(self, node: ast.AST, values: Mapping[str, object]):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        if isinstance(node, ast.UnaryOp):
            return -self._eval(node.operand, values)
        if len(node.args) > 1:  # the best (or worst) of several cells: Table 2's K, Table 3's (T_max, T_min)
            return SCALAR_FUNCTIONS[node.func.id](float(self._eval(arg, values)) for arg in node.args)
        return FUNCTIONS[node.func.id](self._eval(node.args[0], values))

    def linear(self) -> tuple[float, dict[str, float]] | None:
        """``(constant, {cell: coefficient})`` when the comparison is linear in its cells, else None."""
        return _linear(self.tree)


def _linear(node: ast.AST) -> tuple[float, dict[str, float]] | None:
    if isinstance(node, ast.Constant):
        return float(node.value), {}
    if isinstance(node, ast.Name):
        return 0.0, {node.id: 1.0}
    if isinstance(node, ast.UnaryOp):
        inner = _linear(node.operand)
        return None if inner is None else _scale(inner, -1.0)
    if not isinstance(node, ast.BinOp):
        return None  # a function of a curve
    left, right = _linear(node.left), _linear(node.right)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add | ast.Sub):
        sign = 1.0 if isinstance(node.op, ast.Add) else -1.0
        terms = dict(left[1])
        for name, coefficient in right[1].items():
            terms[name] = terms.get(name, 0.0) + sign * coefficient
        return left[0] + sign * right[0], terms
    if isinstance(node.op, ast.Mult) and not left[1]:
        return _scale(right, left[0])
    if isinstance(node.op, ast.Mult | ast.Div) and not right[1]:
        return _scale(left, right[0] if isinstance(node.op, ast.Mult) else 1.0 / right[0])
    return None  # a product or ratio of cells


def _scale(form: tuple[float, dict[str, float]], factor: float) -> tuple[float, dict[str, float]]:
    return form[0] * factor, {name: factor * c for name, c in form[1].items()}
