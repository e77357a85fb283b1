"""Does the paper hold? Each claim read twice, in the paper's own terms: its direction (holds, contradicted
or not resolved against zero, a ratio's 1, or a value the paper prints) and its size (the paper's value,
scaled to our reference cell, against our interval), with Holm's correction over the claims that ran and the seeds a
resolved verdict would need.

Interval: a paired bootstrap crossed over seeds and test images (``statistics.crossed_bootstrap``): each
replicate draws the seeds and one multiset of test images, the same images for every run of the claim,
and reads each run's metric on them from its evidence (recomputed from its detections, at full
precision). A claim on Figure 6's maps draws the objects of the maps' image instead of test images. Over
two or three seeds the bootstrap understates the seeds' spread (it redraws the few seeds there are, with
no t quantile) and the seed-only Student t interval ignores the test images, so the verdict reads the
envelope of the two: a claim holds only where both intervals say so. Without resampled evidence (a run
kept before runs kept their detections) the t interval decides, and the method says so.

A run the failed-run rule flags (o2f/failed_run.py) is named; verdicts are given with and without the
seeds it appears in, and the headline counts use the runs that did not fail. Two runs compared at one
seed come from one kind (processor and precision): a claim reads each seed's runs from the first kind that
has them all (``Results.reading``); seeds from different kinds pool as replicates, each kind's mean named.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..failed_run import failed_run
from ..pipeline.plan import CellRef, Claim, Plan
from ..run_kinds import kinds_text
from ..speed_cells import medians, table_value
from . import statistics as S
from .results import Results
from .score_maps import mean_over

LEVEL = S.LEVEL
HOLDS, NOT_RESOLVED, CONTRADICTED, NOT_RUN = S.HOLDS, S.NOT_RESOLVED, S.CONTRADICTED, "not run"
POWER = 0.8
ONE_MEASUREMENT = 0  # the seed a speed cell's single measurement stands at, so claims pair its cells
MIN_TIMED_IMAGES = 5  # a speed claim's bootstrap needs at least this many timed images
OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
METHOD_NOTE = (f"Interval: {LEVEL:.0%} percentile interval of a paired bootstrap crossed over seeds and test images "
               f"({S.N_RESAMPLES} replicates, its random generator seeded with {S.BOOTSTRAP_SEED}): each replicate "
               "draws the seeds and one multiset of test images, the same images for every run of the claim, and "
               "recomputes each run's "
               "metric on them from its stored detections (pycocotools, or mmdet's CrowdHuman metric). Beside it, "
               "the seed-only Student t interval (scipy.stats.t). With two or three seeds the bootstrap understates "
               "the seeds' spread and the t interval ignores the test images, so the '95% interval' column is the "
               "envelope of both (the bootstrap's alone is in claims.csv): every verdict and size reads it. "
               "Verdict: holds (interval entirely on the claim's side of the threshold), contradicted (entirely on "
               f"the other side), not resolved; 'after Holm': the same at family-wise {LEVEL:.0%} over the claims "
               "that ran (Holm's step-down correction of each claim's two-sided p-value, the larger of the "
               "bootstrap's and the seed t-test's). Paper: the paper's value; 'size' says whether it (scaled to our "
               "reference cell where the claim names one) lies inside, below or above our interval. Seeds for 80 % "
               "power: a paired t-test over seeds at Holm's strictest level (5 % over the number of claims tested), "
               "its standard error the seeds' spread over the number of seeds plus the test images' variance "
               "that every seed shares, "
               "which more seeds do not shrink ('none (test images)': no number of seeds would do, more test "
               "images would; 'none (on the threshold)': the effect is the threshold itself); for "
               "the paper's effect and for ours (the direction ours points, which may be against the claim). A "
               "claim on speed is one measurement with no seed, its interval a bootstrap over the timed images: it "
               "is read on its own, outside Holm's family and the plot, so timing noise moves no other verdict. A "
               "claim beyond the paper (later work) is tested with the rest but not counted as the paper's.")


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
    per_seed: dict[int, float] = field(default_factory=dict)
    seed_low: float | None = None
    seed_high: float | None = None
    p: float | None = None  # two-sided, of the direction test
    adjusted_p: float | None = None
    adjusted: str = NOT_RUN  # the verdict after Holm's correction
    magnitude: str | None = None
    relative: str = ""  # ours and the paper's value as a share of the reference cell
    paper_effect: float | None = None  # the paper's value in our units (scaled by the reference cell)
    seeds_paper: int | str | None = None  # seeds for 80 % power (power_seeds)
    seeds_observed: int | str | None = None
    excluded: tuple[str, ...] = ()  # failed runs left out (the seeds they are in)
    all_runs: str = ""  # the verdict with the failed runs kept, where it differs
    kinds: tuple[str, ...] = ()
    boot_low: float | None = None  # the crossed bootstrap's interval alone (low, high: the envelope read)
    boot_high: float | None = None
    image_var: float = 0.0  # the variance the test images add to the mean over seeds (statistics.image_variance)
    left_out: tuple[int, ...] = ()  # the seeds of failed runs, left out of the values and the reference cell
    units: str = ""  # what the bootstrap drew besides seeds, e.g. "17 test images"


def verdict(side: str, threshold: float, low: float | None, high: float | None) -> str:
    return S.direction_verdict(side, threshold, low, high)


def t_interval(values: list[float]) -> tuple[float | None, float | None]:
    return S.seed_t_interval(values, LEVEL)


@dataclass(frozen=True)
class Resampling:
    """What a claim's crossed bootstrap draws besides its seeds: ``n_units`` units (the test images, or the
    objects of Figure 6's image), the draws' design, the seeds each cell can be re-scored at, and each
    cell's value on a multiset of units (``metric(cell, seed, sorted unit indices)``)."""

    units: str
    n_units: int
    n_resamples: int
    rng_seed: int
    seeds: dict[str, set[int]]
    metric: S.Metric
    seedless: bool = False  # one measurement with no seed (speed): the units are its only noise


def evaluate(claim: Claim, samples: dict[str, dict[int, object]], resampling: Resampling | None = None) -> Outcome:
    """A claim from its cells' values per seed (``samples``: cell -> {seed: float or per-epoch Series}) and,
    where the evidence allows it, the crossed bootstrap over seeds and ``resampling``'s units."""
    empty = [name for name, by_seed in samples.items() if not by_seed]
    if empty:
        cell = claim.cells[empty[0]]
        return Outcome(claim, NOT_RUN, note=f"no finished run of {cell.experiment} gives {empty[0]}")
    shared = sorted(set.intersection(*(set(by_seed) for by_seed in samples.values())))
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
    seed_low, seed_high = t_interval(values)
    mean = statistics.fmean(values)
    r = resampling
    boot_low = boot_high = None
    image_var = 0.0
    if r is not None and (len(used) > 1 or r.seedless) and all(set(used) <= s for s in r.seeds.values()):
        metric = S.MetricCache(r.metric)
        replicates = S.crossed_bootstrap(list(claim.cells), used, r.n_units, metric, claim.comparison.evaluate,
                                         r.n_resamples, r.rng_seed)
        boot_low, boot_high = S.percentile_interval(replicates, LEVEL)
        p = min(1.0, 2 * min(S.direction_p_value(replicates, claim.side, claim.threshold),
                             S.direction_p_value(replicates, OPPOSITE[claim.side], claim.threshold)))
        image_var = S.image_variance(S.seed_comparisons(list(claim.cells), used, r.n_units, metric,
                                                        claim.comparison.evaluate, r.n_resamples, r.rng_seed))
        if r.seedless:
            low, high = boot_low, boot_high
            method = f"bootstrap over the {r.n_units} {r.units} (one measurement each, no seed)"
        elif all(v is not None and np.isfinite(v) for v in (seed_low, seed_high)):
            # the envelope: the bootstrap covers the units, the t interval the few seeds
            low, high = min(boot_low, seed_low), max(boot_high, seed_high)
            p = max(p, t_p_value(values, claim))
            method = (f"bootstrap over seeds {', '.join(map(str, used))} and {r.n_units} {r.units}, "
                      "enveloped by the seed-only t")
        else:
            low = high = p = None
            method = f"seed values not finite ({', '.join(f'{v:g}' for v in values)}): no interval"
        if replicates.undefined:
            note = "; ".join(filter(None, [note, f"{replicates.undefined} replicates undefined"]))
    elif claim.timed:
        low = high = p = None
        method = f"one measurement without at least {MIN_TIMED_IMAGES} per-image timings (rerun o2f speed): no interval"
    else:
        low, high, p = seed_low, seed_high, t_p_value(values, claim)
        method = (f"seed-only t over seeds {', '.join(map(str, used))} (no resampled evidence)" if len(used) > 1
                  else f"one seed ({used[0]}): no interval")
    if len(shared) < max(len(by_seed) for by_seed in samples.values()):
        method += " (the seeds all its runs share)"
    return Outcome(claim, verdict(claim.side, claim.threshold, low, high), mean, low, high, len(values), method,
                   note, per_seed, seed_low, seed_high, p, boot_low=boot_low, boot_high=boot_high, image_var=image_var,
                   units=f"{r.n_units} {r.units}" if boot_low is not None else "")


def t_p_value(values: list[float], claim: Claim) -> float | None:
    """Two-sided one-sample t p-value of the per-seed comparison against the claim's threshold."""
    if len(values) < 2:
        return None
    from scipy import stats

    sem = stats.sem(values)
    if sem == 0:
        return 0.0 if statistics.fmean(values) != claim.threshold else 1.0
    t = (statistics.fmean(values) - claim.threshold) / sem
    return float(2 * stats.t.sf(abs(t), len(values) - 1))


def claim_samples(plan: Plan, results: Results, claim: Claim) -> tuple[dict[str, dict[int, object]], str]:
    """The claim's cells per seed, or a note saying why it cannot run in this DAG configuration."""
    configured = set(plan.experiments_for())
    for name, cell in claim.cells.items():
        if cell.experiment is None:
            return {}, f"{name}: {cell.missing}"
        if cell.experiment not in configured:
            return {}, (f"needs {cell.experiment}, which the configured tables do not train "
                        f"(add: {', '.join(claim.sources)})")
        if cell.source == "speed" and plan.speed_file(cell.experiment) not in plan.measured_speed_files():
            return {}, (f"needs the speed of {cell.experiment}, which this DAG does not measure "
                        f"(add: {claim.sources[0]})")
    return {name: cell_values(results, cell) for name, cell in claim.cells.items()}, ""


def cell_values(results: Results, cell: CellRef) -> dict[int, object]:
    """One cell per seed: a final metric, a per-epoch curve, or a score-map measure (its mean over objects)."""
    if cell.map_epoch:
        means = {seed: mean_over(c) for seed, c in results.seed_map_counts(cell.experiment, cell.map_epoch).items()}
        return {seed: mean for seed, mean in means.items() if not np.isnan(mean)}  # NaN: no object holds an anchor
    if cell.source == "speed":
        run = results.speed_run(cell.experiment)
        return {} if run is None else {ONE_MEASUREMENT: table_value(run, cell.metric, cell.nms)}
    return (results.seed_curves if cell.curve else results.seed_values)(cell.experiment, cell.metric, cell.nms)


def claim_resampling(results: Results, claim: Claim, seeds: list[int]) -> Resampling | None:
    """The units the claim's bootstrap draws: the objects of Figure 6's image for a score-map claim, else
    the test images of its runs' resampled evidence; None where a run lacks them."""
    cells = claim.cells.values()
    if claim.timed:
        runs = {name: results.speed_run(cell.experiment) or {} for name, cell in claim.cells.items()}
        sizes = {len(run["per_image"]["forward"]) if "per_image" in run else 0 for run in runs.values()}
        if len(sizes) != 1 or min(sizes) < MIN_TIMED_IMAGES:
            return None

        def timed(name: str, _seed: int, images: np.ndarray) -> float:
            cell = claim.cells[name]
            parts = {k: np.asarray(v)[images] for k, v in runs[name]["per_image"].items()}
            return table_value(medians(parts), cell.metric, cell.nms)

        return Resampling("timed images", sizes.pop(), S.N_RESAMPLES, S.BOOTSTRAP_SEED,
                          {name: {ONE_MEASUREMENT} for name in runs}, timed, seedless=True)
    if any(cell.map_epoch for cell in cells):
        counts = {name: results.seed_map_counts(cell.experiment, cell.map_epoch) for name, cell in claim.cells.items()}
        sizes = {len(c) for by_seed in counts.values() for c in by_seed.values()}
        if not all(cell.map_epoch for cell in cells) or len(sizes) != 1 or not min(sizes):
            return None
        counts = {name: {seed: c for seed, c in by_seed.items() if not np.isnan(c).all()}
                  for name, by_seed in counts.items()}
        return Resampling("objects of Figure 6's image", sizes.pop(), S.N_RESAMPLES, S.BOOTSTRAP_SEED,
                          {name: set(by_seed) for name, by_seed in counts.items()},
                          lambda name, seed, objects: mean_over(counts[name][seed], objects))
    designs = {tuple(sorted((results.bootstrap(cell.experiment, s) or {}).items())) for cell in cells for s in seeds}
    if len(designs) != 1 or not next(iter(designs)):
        return None
    design = dict(next(iter(designs)))
    if "n_images" not in design:
        return None
    draws = {name: results.seed_draws(cell.experiment, cell.metric, cell.nms, cell.curve)
             for name, cell in claim.cells.items()}
    if any(not d for d in draws.values()):
        return None
    replicate_of = {row.tobytes(): r for r, row in enumerate(S.image_draws(design["n_images"], design["n_resamples"],
                                                                           design["rng_seed"]))}

    def metric(name: str, seed: int, images: np.ndarray):
        """Replicate r of a run is its metric on ``image_draws``' r-th image multiset."""
        values = draws[name][seed]
        r = replicate_of[images.tobytes()]
        return values[r] if isinstance(values, pd.DataFrame) else float(values[r])

    return Resampling("test images", design["n_images"], design["n_resamples"], design["rng_seed"],
                      {name: set(by_seed) for name, by_seed in draws.items()}, metric)


def failed_runs(results: Results, claim: Claim, samples: dict[str, dict[int, object]]) -> dict[tuple[str, int], str]:
    """(experiment, seed) -> why, for the claim's runs the failed-run rule flags: a dead box regression (the
    run's own record), or a final value far below its experiment's other seeds."""
    found = {}
    for name, cell in claim.cells.items():
        if cell.source == "speed":
            continue
        for seed, reason in results.failed(cell.experiment).items():
            found[(cell.experiment, seed)] = reason
        if cell.curve or cell.map_epoch:
            continue
        worst = 100.0 if cell.metric.endswith("mMR") else 0.0
        for seed, value in samples[name].items():
            others = [v for s, v in samples[name].items() if s != seed]
            reason = failed_run([], value, others, worst=worst)
            if reason and (cell.experiment, seed) not in found:
                found[(cell.experiment, seed)] = f"{cell.metric}: {reason}"
    return found


def unpaired(results: Results, claim: Claim) -> str:
    """Why a claim on trained runs has no runs in its view at any seed: a run no kind has, or runs that no
    kind has together ("": neither; the cell is empty for another reason)."""
    seeds, kinds = results.plan.settings["seeds"], results.evidence_kinds
    for name, cell in claim.cells.items():
        if not any(kinds.usable(cell.experiment, seed) for seed in seeds):
            return f"no finished run of {cell.experiment} gives {name}"
    if not any(kinds.for_runs(claim.experiments, seed) is not None for seed in seeds):
        found = {experiment: {kind for seed in seeds for kind in kinds.usable(experiment, seed)}
                 for experiment in claim.experiments}
        return ("its runs share no seed on one kind (" +
                "; ".join(f"{experiment} on {', '.join(sorted(k))}" for experiment, k in found.items()) + ")")
    return ""


def evaluate_claim(plan: Plan, results: Results, claim: Claim) -> Outcome:
    samples, why = claim_samples(plan, results, claim)
    if samples and not claim.timed and any(not by_seed for by_seed in samples.values()):
        why = unpaired(results, claim)
    if not samples or why:
        return Outcome(claim, NOT_RUN, note=why)
    seeds = sorted(set().union(*(set(by_seed) for by_seed in samples.values())))
    kinds_of = {name: cell_kinds(results, cell) for name, cell in claim.cells.items()}
    kinds = tuple(sorted({k for by_seed in kinds_of.values() for k in by_seed.values()}))
    if claim.timed and len(kinds) > 1:
        return Outcome(claim, NOT_RESOLVED, note=f"timed on different devices ({kinds_text(kinds)}): measure "
                                                 "both with o2f speed on one", kinds=kinds)
    resampling = claim_resampling(results, claim, seeds)
    every_run = evaluate(claim, samples, resampling)
    failed = failed_runs(results, claim, samples)
    if not failed:
        return per_kind(replace(every_run, kinds=kinds), kinds_of)
    bad_seeds = {seed for _, seed in failed}
    kept = {name: {s: v for s, v in by_seed.items() if s not in bad_seeds} for name, by_seed in samples.items()}
    outcome = evaluate(claim, kept, resampling)
    excluded = tuple(f"{experiment} seed {seed}: {reason}" for (experiment, seed), reason in sorted(failed.items()))
    return per_kind(replace(outcome, excluded=excluded, kinds=kinds, left_out=tuple(sorted(bad_seeds)),
                            all_runs=f"{every_run.verdict}: {fmt(every_run.mean, claim.digits)} "
                                     f"[{fmt(every_run.low, claim.digits)}, {fmt(every_run.high, claim.digits)}]"),
                    kinds_of)


def per_kind(outcome: Outcome, kinds_of: dict[str, dict[int, str]]) -> Outcome:
    """A claim whose seeds came from several kinds (each seed's runs from one) pools them as replicates; its
    note gives each kind's own mean, so a kind that moves the comparison shows."""
    kind_at = {seed: kind for by_seed in kinds_of.values() for seed, kind in by_seed.items()}
    by_kind: dict[str, list[float]] = {}
    for seed, value in outcome.per_seed.items():
        by_kind.setdefault(kind_at.get(seed, "unknown"), []).append(value)
    if len(by_kind) < 2:
        return outcome
    digits = outcome.claim.digits
    parts = [f"{kind}: {fmt(statistics.fmean(values), digits)} (seeds "
             f"{', '.join(str(s) for s in sorted(outcome.per_seed) if kind_at.get(s, 'unknown') == kind)})"
             for kind, values in sorted(by_kind.items())]
    return replace(outcome, note="; ".join(filter(None, [outcome.note, "per kind: " + "; ".join(parts)])))


def cell_kinds(results: Results, cell: CellRef) -> dict[int, str]:
    """The kind each of a cell's values came from: its runs' (processor and precision), or the device its
    speed was measured on."""
    if cell.source == "speed":
        run = results.speed_run(cell.experiment)
        return {} if run is None else {ONE_MEASUREMENT: run.get("device", "unknown")}
    return results.kinds(cell.experiment)


def adjust(outcomes: list[Outcome]) -> list[Outcome]:
    """Holm's correction over the claims that ran: the verdict a family-wise level supports, the seeds
    a resolved verdict would need at that level."""
    tested = [i for i, o in enumerate(outcomes) if o.p is not None and not o.claim.timed]
    if not tested:
        return [replace(o, adjusted=o.verdict) for o in outcomes]
    adjusted, rejected = S.holm([outcomes[i].p for i in tested], S.ALPHA)
    level = S.ALPHA / len(tested)  # Holm's first, strictest step: what a claim must pass whatever the others do
    out = list(outcomes)
    for i, p_adj, reject in zip(tested, adjusted, rejected, strict=True):
        o = outcomes[i]
        side_ok = S.SIDES[o.claim.side](o.mean, o.claim.threshold)
        after = (HOLDS if side_ok else CONTRADICTED) if reject else NOT_RESOLVED
        sd = statistics.stdev(o.per_seed.values()) if len(o.per_seed) > 1 else None
        out[i] = replace(o, adjusted_p=float(p_adj), adjusted=after,
                         seeds_observed=power_seeds(sd, o.mean - o.claim.threshold, level, o.image_var),
                         seeds_paper=power_seeds(sd, None if o.paper_effect is None else
                                                 o.paper_effect - o.claim.threshold, level, o.image_var))
    return [o if o.adjusted != NOT_RUN or o.verdict == NOT_RUN else replace(o, adjusted=o.verdict) for o in out]


IMAGES_LIMIT = "images"  # power_seeds: the test images alone keep the effect from the level
ON_THRESHOLD = "threshold"  # power_seeds: the effect is the threshold itself (claim 18's paper value)


def power_seeds(sd: float | None, effect: float | None, level: float, image_var: float = 0.0) -> int | str | None:
    """The seeds a resolved verdict would need, IMAGES_LIMIT where no number of seeds would do (more test
    images would), ON_THRESHOLD for an effect of 0, or None (more than MAX_SEEDS_FOR_POWER)."""
    if sd is None or effect is None or not np.isfinite(effect):
        return None
    if effect == 0:
        return ON_THRESHOLD
    if S.images_limit_power(effect, image_var, alpha=level, power=POWER, one_sided=False):
        return IMAGES_LIMIT
    return S.seeds_for_power(sd, effect, alpha=level, power=POWER, one_sided=False, image_var=image_var)


def relative_reading(plan: Plan, results: Results, outcome: Outcome) -> Outcome:
    """For a claim compared across data sets: ours and the paper's value as a share of the reference cell
    (its runs that did not fail), and the paper's effect in our units (its share times our reference value),
    which the size reading then places against our interval."""
    claim = outcome.claim
    paper_effect, relative = claim.paper, ""
    if claim.relative_to and outcome.mean is not None and claim.paper is not None:
        cell = claim.cells[claim.relative_to]
        kept = [v for s, v in cell_values(results, cell).items() if s not in outcome.left_out]
        ours_ref = statistics.fmean(kept) if kept else None
        paper_ref = cell.paper if isinstance(cell.paper, int | float) else None
        if ours_ref and paper_ref:
            paper_effect = claim.paper / paper_ref * ours_ref
            shares = f"ours {100 * outcome.mean / ours_ref:+.1f} %, paper {100 * claim.paper / paper_ref:+.1f} %"
            relative = f"{shares} of {claim.relative_to}"
    if outcome.verdict == NOT_RUN:
        return replace(outcome, paper_effect=paper_effect)
    return replace(outcome, paper_effect=paper_effect, relative=relative,
                   magnitude=S.magnitude_reading(paper_effect, outcome.low, outcome.high))


def evaluate_claims(plan: Plan, results: Results) -> list[Outcome]:
    """Every claim on its own view of the runs: at each seed, all of them from one kind."""
    views = {claim.id: results.reading(claim.experiments) for claim in plan.claims}
    return adjust([relative_reading(plan, views[claim.id], evaluate_claim(plan, views[claim.id], claim))
                   for claim in plan.claims])


def fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def interval_text(low: float | None, high: float | None, digits: int) -> str:
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]" if low is not None else "–"


def seeds_text(seeds: int | str | None) -> str:
    if seeds == IMAGES_LIMIT:
        return "none (test images)"
    if seeds == ON_THRESHOLD:
        return "none (on the threshold)"
    return f"> {S.MAX_SEEDS_FOR_POWER}" if seeds is None else str(seeds)


def power_text(o: Outcome) -> str:
    parts = [f"paper's effect {seeds_text(o.seeds_paper)}" if o.paper_effect is not None else "",
             f"ours {seeds_text(o.seeds_observed)}"]
    return "; ".join(p for p in parts if p) if o.p is not None and len(o.per_seed) > 1 else "–"


def claims_frame(outcomes: list[Outcome], seeds: list[int]) -> pd.DataFrame:
    """One row per claim: the report's columns, then the comparison's value per seed (full precision)."""
    rows = []
    for o in outcomes:
        c = o.claim
        sd = statistics.stdev(o.per_seed.values()) if len(o.per_seed) > 1 else None
        rows.append({
            "id": c.id, "claim": c.text, "comparison": c.comparison.text, "holds if": c.holds_if,
            "paper": fmt(c.paper, c.digits) if c.paper is not None else f"– ({c.paper_note})",
            "ours (mean)": fmt(o.mean, c.digits + 1), "95% interval": interval_text(o.low, o.high, c.digits + 1),
            "bootstrap": interval_text(o.boot_low, o.boot_high, c.digits + 1),
            "seed-only t": interval_text(o.seed_low, o.seed_high, c.digits + 1), "n": o.n,
            "verdict": o.verdict, "after Holm": o.adjusted, "size": o.magnitude or "–", "relative": o.relative,
            "p": "–" if o.p is None else f"{o.p:.3g}",
            "p (Holm)": "–" if o.adjusted_p is None else f"{o.adjusted_p:.3g}",
            "seed sd": fmt(sd, c.digits + 1), "seeds for 80 % power": power_text(o), "method": o.method,
            "failed runs left out": "; ".join(o.excluded), "with the failed runs": o.all_runs,
            "kinds": kinds_text(o.kinds), "note": o.note, "timed": c.timed, "beyond the paper": c.beyond_paper,
            **{f"seed {s}": fmt(o.per_seed.get(s), c.digits + 2) for s in seeds}})
    return pd.DataFrame(rows)


# claims.csv's flag columns whose claims the headline counts leave out, and how the headline names them: a
# speed claim's timings would move the count from one measurement to the next; a claim beyond the paper is
# not the paper's
READ_APART = {"timed": "the claims on speed", "beyond the paper": "those beyond the paper"}


def flagged(frame: pd.DataFrame, column: str) -> pd.Series:
    """The rows whose flag ``column`` is set (read back from a CSV, a flag is the text "True")."""
    return frame[column].astype(str) == "True" if column in frame else pd.Series(False, index=frame.index)


def read_apart(frame: pd.DataFrame) -> str:
    """The headline's note on the claims its counts leave out."""
    apart = [what for column, what in READ_APART.items() if flagged(frame, column).any()]
    return f"; {' and '.join(apart)} read apart" if apart else ""


def verdict_counts(frame: pd.DataFrame, column: str = "verdict") -> str:
    """"2 holds, 4 not resolved, ..." in the verdicts' order, over the paper's claims on runs (READ_APART)."""
    apart = pd.Series(False, index=frame.index)
    for flag in READ_APART:
        apart |= flagged(frame, flag)
    counts = frame[~apart][column].value_counts()
    return ", ".join(f"{counts[v]} {v}" for v in (HOLDS, NOT_RESOLVED, CONTRADICTED, NOT_RUN) if v in counts)


def scale_note(plan: Plan) -> str:
    """One sentence on what ran, where it is not the paper's setting."""
    from .scale_label import scale_descriptions

    described = scale_descriptions(plan)
    if not described:
        return ""
    what = "; ".join(f"{family}: {text}" for family, text in described.items())
    return (f"*Scale {plan.scale}, not the paper's setting ({what}); the paper's values beside ours are COCO's and "
            "CrowdHuman's at full scale, so a difference is read for its direction and, as a share of a reference "
            "cell, for its size.*")


def plot_rows(outcomes: list[Outcome]) -> list[dict]:
    """The forest plot's rows (claims_plot.plot_claims): one per claim that ran."""
    units = {True: "ratio", False: "points of the metric"}
    return [{"id": o.claim.id, "label": o.claim.comparison.text, "mean": o.mean,
             "low": o.low if o.boot_low is None else o.boot_low, "high": o.high if o.boot_high is None else o.boot_high,
             "seed_low": o.seed_low, "seed_high": o.seed_high, "paper": o.paper_effect, "verdict": o.verdict,
             "adjusted": o.adjusted, "threshold": o.claim.threshold,
             "unit": units["/" in o.claim.comparison.text]} for o in outcomes
            if o.verdict != NOT_RUN and not o.claim.timed]


def provenance(outcomes: list[Outcome]) -> str:
    """Where the verdicts' values came from: the kinds the trainings ran on and the devices the claims on
    speed were timed on, named apart, and what each claim's bootstrap drew besides seeds (the test set's size
    bounds what seeds can resolve)."""
    parts = []
    for what, timed in (("Trainings on", False), ("Timings on", True)):
        kinds = [kind for o in outcomes if o.claim.timed == timed for kind in o.kinds]
        if kinds:
            parts.append(f"{what}: {kinds_text(kinds)}.")
    drawn: dict[str, list[str]] = {}
    for o in outcomes:
        if o.units:
            drawn.setdefault(o.units, []).append(o.claim.id)
    if drawn:
        parts.append("Bootstrap draws: " + "; ".join(f"{units} (claims {', '.join(ids)})"
                                                      for units, ids in drawn.items()) + ".")
    return " ".join(parts)


def as_text_columns(shown: pd.DataFrame) -> str:
    """The claims as Markdown, each column as formatted (``0.520`` stays ``0.520``): tabulate would parse a
    column of numbers alone and drop its trailing zeros; ``n`` alone is a number."""
    text = [i for i, column in enumerate(shown.columns) if column != "n"]
    return shown.to_markdown(index=False, disable_numparse=text)


def write_claims(frame: pd.DataFrame, out_stem: Path, scale: str, seeds: list[int], scale_note: str = "",
                 sources: str = "") -> list[Path]:
    """claims.csv (every column, each seed's value) and claims.md (the verdicts)."""
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = out_stem.with_suffix(".csv"), out_stem.with_suffix(".md")
    frame.to_csv(csv, index=False)
    shown = frame[["id", "claim", "holds if", "paper", "ours (mean)", "95% interval", "seed-only t", "n", "verdict",
                   "after Holm", "size", "seeds for 80 % power"]]
    notes = [f"* claim {r['id']}: {r['note']}" for _, r in frame.iterrows() if r["note"]]
    notes += [f"* claim {r['id']}: {_needs_seeds(r)}" for _, r in frame.iterrows() if _needs_seeds(r)]
    failed = [f"* claim {r['id']}: left out {r['failed runs left out']} (with them: {r['with the failed runs']})"
              for _, r in frame.iterrows() if r["failed runs left out"]]
    relative = [f"* claim {r['id']}: {r['relative']}" for _, r in frame.iterrows() if r["relative"]]
    scale_line = f"{scale_note}\n\n" if scale_note else ""
    sources_line = f"{sources}\n\n" if sources else ""
    md.write_text(
        f"{scale_line}**Does the paper hold? Scale: {scale}, seeds {', '.join(map(str, seeds))}: "
        f"{verdict_counts(frame, 'after Holm')} after Holm's correction ({verdict_counts(frame)} unadjusted); "
        f"failed runs left out{read_apart(frame)}.**\n\n"
        f"{sources_line}{METHOD_NOTE} Values in points of the metric (AP, mMR), or ratios where the comparison "
        "divides.\n\n"
        f"{as_text_columns(shown)}\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")
        + ("\nFailed runs (o2f/failed_run.py):\n\n" + "\n".join(failed) + "\n" if failed else "")
        + ("\nAs a share of the reference cell (the data sets differ in AP level):\n\n" + "\n".join(relative) + "\n"
           if relative else ""))
    return [md, csv]


def _needs_seeds(row) -> str:
    """"not resolved after Holm; seeds for 80 % power at this scale: ...", where a power figure stands."""
    if row["after Holm"] != NOT_RESOLVED or row["seeds for 80 % power"] == "–":
        return ""
    return f"not resolved after Holm; seeds for 80 % power at this scale: {row['seeds for 80 % power']}"
