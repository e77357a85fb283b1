"""Does the paper hold? Each claim's comparison over the seeds that ran, a 95 % interval and a verdict.

Interval: Student's t (``scipy.stats.t``). When every run a claim reads has the same seeds, the
comparison is computed per seed and the interval is over those values (paired by seed: the seed fixes
data order and augmentation for every method alike). When seeds differ and the comparison is linear
in its cells, each run's part is averaged over its own seeds and the interval is Welch's. Otherwise
only the seeds all runs share count. One seed gives no interval: the verdict is "not resolved".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from scipy import stats

from ..plan import SIDES, Claim, Plan
from .results import Results

LEVEL = 0.95
HOLDS, NOT_RESOLVED, CONTRADICTED, NOT_RUN = "holds", "not resolved", "contradicted", "not run"
METHOD_NOTE = (f"Interval: {LEVEL:.0%} Student t (scipy.stats.t) over the seeds' values of the comparison, paired "
               "by seed where all its runs ran the same seeds (Welch's t over each run's seeds otherwise). "
               "Verdict: holds (interval entirely on the claim's side), contradicted (entirely on the other "
               "side), not resolved (it straddles the threshold, or one seed: no interval), not run.")


@dataclass(frozen=True)
class Outcome:
    """What the runs say about one claim."""

    claim: Claim
    verdict: str
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0
    method: str = ""
    note: str = ""
    per_seed: dict[int, float] = field(default_factory=dict)  # the comparison per seed (paired case)


def verdict(side: str, threshold: float, low: float | None, high: float | None) -> str:
    """"holds" when the whole interval is on the claim's side of the threshold, "contradicted" when it
    is entirely on the other side, "not resolved" otherwise (or without an interval)."""
    if low is None or high is None:
        return NOT_RESOLVED
    supports = SIDES[side]
    if supports(low, threshold) and supports(high, threshold):
        return HOLDS
    if not supports(low, threshold) and not supports(high, threshold):
        return CONTRADICTED
    return NOT_RESOLVED


def t_interval(values: list[float]) -> tuple[float | None, float | None]:
    """Student's t interval of the mean; (None, None) below two values."""
    if len(values) < 2:
        return None, None
    mean, sem = statistics.fmean(values), stats.sem(values)
    if sem == 0:
        return mean, mean
    low, high = stats.t.interval(LEVEL, len(values) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def welch_interval(parts: list[list[float]], constant: float) -> tuple[float, float | None, float | None]:
    """Mean and Welch-Satterthwaite t interval of ``constant + sum of the parts' means`` (independent runs)."""
    mean = constant + sum(statistics.fmean(p) for p in parts)
    if any(len(p) < 2 for p in parts):
        return mean, None, None
    variances = [statistics.variance(p) / len(p) for p in parts]
    se = math.sqrt(sum(variances))
    if se == 0:
        return mean, mean, mean
    df = se ** 4 / sum(v ** 2 / (len(p) - 1) for v, p in zip(variances, parts, strict=True))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, df)) * se
    return mean, mean - half, mean + half


def evaluate(claim: Claim, samples: dict[str, dict[int, object]]) -> Outcome:
    """A claim from its cells' values per seed (``samples``: cell name -> {seed: float or per-epoch Series})."""
    empty = [name for name, by_seed in samples.items() if not by_seed]
    if empty:
        cell = claim.cells[empty[0]]
        return Outcome(claim, NOT_RUN, note=f"no finished run of {cell.experiment} gives {empty[0]}")
    seed_sets = [set(by_seed) for by_seed in samples.values()]
    shared = sorted(set.intersection(*seed_sets))
    linear = claim.comparison.linear()
    if len({frozenset(s) for s in seed_sets}) > 1 and linear is not None:
        return _unpaired(claim, samples, linear)
    if not shared:
        return Outcome(claim, NOT_RUN, note="its runs share no seed")
    per_seed, undefined = {}, []
    for seed in shared:
        try:
            per_seed[seed] = claim.comparison.evaluate({name: by_seed[seed] for name, by_seed in samples.items()})
        except ZeroDivisionError:
            undefined.append(seed)
    note = f"undefined at seed {', '.join(map(str, undefined))} (divides by zero)" if undefined else ""
    if not per_seed:
        return Outcome(claim, NOT_RESOLVED, note=note)
    values, used = list(per_seed.values()), list(per_seed)
    low, high = t_interval(values)
    kind = "paired t" if len(claim.experiments) > 1 else "t"
    method = (f"{kind} over seeds {', '.join(map(str, used))}" if len(values) > 1
              else f"one seed ({used[0]}): no interval")
    if len(shared) < max(len(s) for s in seed_sets):
        method += " (the seeds all its runs share)"
    if len(values) > 1 and low == high:
        method += "; every seed gives the same value"
    return Outcome(claim, verdict(claim.side, claim.threshold, low, high), statistics.fmean(values), low, high,
                   len(values), method, note, per_seed)


def _unpaired(claim: Claim, samples: dict[str, dict[int, object]], linear) -> Outcome:
    """Welch's interval of a linear comparison whose runs ran different seeds: one part per experiment."""
    constant, coefficients = linear
    parts = []
    for experiment in claim.experiments:
        names = [n for n, cell in claim.cells.items() if cell.experiment == experiment and coefficients.get(n)]
        if not names:
            continue
        seeds = sorted(set.intersection(*(set(samples[n]) for n in names)))
        parts.append([sum(coefficients[n] * samples[n][s] for n in names) for s in seeds])
    mean, low, high = welch_interval(parts, constant)
    n = min(len(p) for p in parts)
    method = "Welch t over each run's seeds" if low is not None else "a run with one seed: no interval"
    return Outcome(claim, verdict(claim.side, claim.threshold, low, high), mean, low, high, n, method)


def claim_samples(plan: Plan, results: Results, claim: Claim) -> tuple[dict[str, dict[int, object]], str]:
    """The claim's cells per seed, or a note saying why it cannot run in this DAG configuration."""
    configured = set(plan.experiments_for())
    for name, cell in claim.cells.items():
        if cell.experiment is None:
            return {}, f"{name}: {cell.missing}"
        if cell.experiment not in configured:
            return {}, (f"needs {cell.experiment}, which the configured tables do not train "
                        f"(add: {', '.join(claim.sources)})")
    return {name: (results.seed_curves if cell.curve else results.seed_values)(cell.experiment, cell.metric, cell.nms)
            for name, cell in claim.cells.items()}, ""


def evaluate_claims(plan: Plan, results: Results) -> list[Outcome]:
    outcomes = []
    for claim in plan.claims:
        samples, why = claim_samples(plan, results, claim)
        outcomes.append(evaluate(claim, samples) if samples else Outcome(claim, NOT_RUN, note=why))
    return outcomes


def claims_frame(outcomes: list[Outcome], seeds: list[int]) -> pd.DataFrame:
    """One row per claim: the report's columns, then the comparison's value per seed (paired case)."""
    rows = []
    for o in outcomes:
        c = o.claim
        interval = f"[{_fmt(o.low, c.digits)}, {_fmt(o.high, c.digits)}]" if o.low is not None else "–"
        rows.append({
            "id": c.id, "claim": c.text, "comparison": c.comparison.text, "holds if": c.holds_if,
            "paper": _fmt(c.paper, c.digits) if c.paper is not None else f"– ({c.paper_note})",
            "ours (mean)": _fmt(o.mean, c.digits), "95% interval": interval, "n": o.n, "method": o.method,
            "verdict": o.verdict, "note": o.note,
            **{f"seed {s}": _fmt(o.per_seed.get(s), c.digits + 1) for s in seeds}})
    return pd.DataFrame(rows)


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def verdict_counts(frame: pd.DataFrame) -> str:
    """"2 holds, 4 not resolved, ..." in the verdicts' order."""
    counts = frame["verdict"].value_counts()
    return ", ".join(f"{counts[v]} {v}" for v in (HOLDS, NOT_RESOLVED, CONTRADICTED, NOT_RUN) if v in counts)


def write_claims(frame: pd.DataFrame, out_stem: Path, scale: str, seeds: list[int]) -> list[Path]:
    """claims.csv (every column, each seed's value) and claims.md (the verdicts)."""
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = out_stem.with_suffix(".csv"), out_stem.with_suffix(".md")
    frame.to_csv(csv, index=False)
    shown = frame[["id", "claim", "comparison", "holds if", "paper", "ours (mean)", "95% interval", "n", "verdict"]]
    summary = verdict_counts(frame)
    notes = [f"* claim {r['id']}: {r['note']}" for _, r in frame.iterrows() if r["note"]]
    md.write_text(f"**Does the paper hold? Scale: {scale}, seeds {', '.join(map(str, seeds))}: {summary}.**\n\n"
                  f"{METHOD_NOTE} Values in points of the metric (AP, mMR), or ratios where the comparison divides.\n\n"
                  f"{shown.to_markdown(index=False)}\n" + ("\n" + "\n".join(notes) + "\n" if notes else ""))
    return [md, csv]
