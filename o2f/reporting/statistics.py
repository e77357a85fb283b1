"""The arithmetic behind a claim's verdict: intervals that cover seeds and test images, p-values,
Holm's correction, verdicts, a power figure and the failed-run rule.

Two sources of noise move a claim's comparison: the training seed (data order, augmentation,
initialisation) and the finite test set (another sample of images would give another AP). The
seed-only Student t interval covers the first; the crossed bootstrap covers both, but over two or three
seeds understates the first (it redraws the few seeds there are, with no t quantile), so the report reads
the envelope of the two. The test set is
the same images for every seed and every method, so one draw of images serves every seed and both
sides of a comparison: methods are compared on the same images, as in the paper.

numpy and scipy only: the report imports this without torch or mmdet.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
from scipy import stats

from ..bootstrap_draws import BOOTSTRAP_SEED, N_RESAMPLES, image_draws  # noqa: F401  (the draws every run shares)
from ..errors import O2FError
from ..failed_run import failed_run, stuck_epochs  # noqa: F401  (the rule the report applies)

LEVEL = 0.95  # two-sided interval level shown in the report
ALPHA = 0.05  # family-wise error rate of Holm's correction over the claims' two-sided p-values
EXACT_LIMIT = 200_000  # distinct (seed multiset, image multiset) pairs the exact mode enumerates at most
MAX_SEEDS_FOR_POWER = 1000  # seeds_for_power searches no further: beyond this no experiment of ours is planned

HOLDS, NOT_RESOLVED, CONTRADICTED = "holds", "not resolved", "contradicted"
INSIDE, BELOW, ABOVE, NO_INTERVAL = "inside", "below", "above", "no interval"
SIDES: dict[str, Callable[[float, float], bool]] = {">": operator.gt, ">=": operator.ge, "<": operator.lt,
                                                    "<=": operator.le}

Metric = Callable[[str, int, np.ndarray], float]  # (run, seed, sorted image indices) -> the run's metric on them
Comparison = Callable[[Mapping[str, float]], float]  # {run: metric} -> the claim's comparison


@dataclass(frozen=True)
class Replicates:
    """The bootstrap distribution of a comparison: distinct values and how many equally likely draws
    give each (Monte Carlo: one draw per replicate, counts all 1; exact: the multiplicities). NaN marks a
    replicate where the comparison is undefined (it divides by zero on that draw)."""

    values: np.ndarray
    counts: np.ndarray
    exact: bool

    @property
    def undefined(self) -> int:
        """Draws on which the comparison is undefined; intervals and p-values leave them out, and the report
        should say how many."""
        return int(self.counts[np.isnan(self.values)].sum())

    def defined(self) -> tuple[np.ndarray, np.ndarray]:
        keep = ~np.isnan(self.values)
        if not keep.any():
            raise O2FError("the comparison is undefined on every bootstrap draw (it divides by zero)")
        return self.values[keep], self.counts[keep]


class MetricCache:
    """``metric`` memoised per (run, seed, image multiset): recomputing a run's AP is the bootstrap's cost,
    and the exact mode (and small test sets) meet the same multiset many times."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.values: dict[tuple[str, int, bytes], float] = {}

    def __call__(self, run: str, seed: int, images: np.ndarray) -> float:
        key = (run, seed, images.tobytes())
        if key not in self.values:
            self.values[key] = self.metric(run, seed, images)
        return self.values[key]


def crossed_bootstrap(runs: Sequence[str], seeds: Sequence[int], n_images: int, metric: Metric,
                      comparison: Comparison, n_resamples: int = N_RESAMPLES, rng_seed: int = BOOTSTRAP_SEED,
                      exact: bool = False) -> Replicates:
    """Paired bootstrap crossed over seeds and test images.

    One replicate draws len(seeds) seeds with replacement and one multiset of n_images test-image
    indices with replacement; every drawn seed's runs are re-scored on that same multiset
    (``metric(run, seed, indices)``, indices sorted), the comparison is taken per drawn seed and averaged
    over the drawn seeds (the draws' order: _sampled_draws). ``runs`` are the names the comparison reads;
    each must have every one of ``seeds`` (pairing is by seed). ``exact`` enumerates every distinct pair
    of multisets with its number of equally likely ordered draws instead of sampling (at most EXACT_LIMIT
    pairs).

    Pass one MetricCache for all claims: with the same seed count, image count and rng_seed every claim
    draws the same multisets, so each run is scored once per multiset however many claims read it.
    """
    _check_design(runs, seeds, n_images, n_resamples)
    cached = metric if isinstance(metric, MetricCache) else MetricCache(metric)
    draws = _enumerated_draws(len(seeds), n_images) if exact else _sampled_draws(len(seeds), n_images,
                                                                                 n_resamples, rng_seed)
    values, counts = [], []
    for seed_positions, images, count in draws:
        drawn = Counter(seeds[i] for i in seed_positions)
        values.append(_replicate(runs, drawn, images, cached, comparison))
        counts.append(count)
    return Replicates(np.array(values, dtype=float), np.array(counts, dtype=np.int64), exact)


def _check_design(runs: Sequence[str], seeds: Sequence[int], n_images: int, n_resamples: int) -> None:
    if not runs:
        raise O2FError("crossed_bootstrap needs at least one run")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise O2FError(f"crossed_bootstrap needs distinct seeds, got {list(seeds)}")
    if n_images < 1:
        raise O2FError(f"crossed_bootstrap needs at least one test image, got {n_images}")
    if n_resamples < 1:
        raise O2FError(f"n_resamples must be positive, got {n_resamples}")


def seed_comparisons(runs: Sequence[str], seeds: Sequence[int], n_images: int, metric: Metric,
                     comparison: Comparison, n_resamples: int = N_RESAMPLES,
                     rng_seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Each seed's comparison (rows, in ``seeds``' order) on each of crossed_bootstrap's sampled image
    multisets (columns), NaN where undefined: what image_variance splits into the part seeds share and the
    part they do not. Pass crossed_bootstrap's MetricCache so no run is scored twice."""
    _check_design(runs, seeds, n_images, n_resamples)
    return np.array([[_compare(runs, seed, images, metric, comparison)
                      for images in image_draws(n_images, n_resamples, rng_seed)] for seed in seeds], dtype=float)


def _compare(runs: Sequence[str], seed: int, images: np.ndarray, metric: Metric, comparison: Comparison) -> float:
    """One seed's comparison on one image multiset; NaN where it divides by zero."""
    try:
        return comparison({run: metric(run, seed, images) for run in runs})
    except ZeroDivisionError:
        return math.nan


def _replicate(runs: Sequence[str], drawn: Counter, images: np.ndarray, metric: Metric,
               comparison: Comparison) -> float:
    """Mean over the drawn seeds (with their multiplicity) of the comparison on one image multiset (NaN
    where it is undefined for any of them)."""
    return sum(times * _compare(runs, seed, images, metric, comparison)
               for seed, times in drawn.items()) / sum(drawn.values())


def _sampled_draws(n_seeds: int, n_images: int, n_resamples: int,
                   rng_seed: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Monte Carlo draws: every replicate's seed positions (n_resamples x n_seeds, from the generator
    seeded [rng_seed, 0]) and image multisets (``image_draws``)."""
    seed_draws = np.random.default_rng([rng_seed, 0]).integers(0, n_seeds, size=(n_resamples, n_seeds))
    for seed_positions, images in zip(seed_draws, image_draws(n_images, n_resamples, rng_seed), strict=True):
        yield seed_positions, images, 1


def multisets(n: int) -> list[tuple[tuple[int, ...], int]]:
    """Every multiset of n draws from range(n), sorted, with the number of ordered draws giving it
    (the multinomial coefficient); the counts sum to n**n."""
    out = []
    for combo in combinations_with_replacement(range(n), n):
        ways = math.factorial(n)
        for times in Counter(combo).values():
            ways //= math.factorial(times)
        out.append((combo, ways))
    return out


def exact_size(n_seeds: int, n_images: int) -> int:
    """How many distinct (seed multiset, image multiset) pairs the exact mode enumerates."""
    return math.comb(2 * n_seeds - 1, n_seeds) * math.comb(2 * n_images - 1, n_images)


def _enumerated_draws(n_seeds: int, n_images: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    size = exact_size(n_seeds, n_images)
    if size > EXACT_LIMIT:
        raise O2FError(f"exact bootstrap over {n_seeds} seeds and {n_images} images has {size} multiset pairs "
                       f"(more than {EXACT_LIMIT}); use the sampled bootstrap (exact=False)")
    image_sets = [(np.array(images), ways) for images, ways in multisets(n_images)]
    for seed_positions, seed_ways in multisets(n_seeds):
        for images, image_ways in image_sets:
            yield np.array(seed_positions), images, seed_ways * image_ways


def percentile_interval(replicates: Replicates, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval: the (1-level)/2 and (1+level)/2 quantiles of the bootstrap distribution,
    as the inverse of its empirical CDF (weighted by the draws' counts, so the exact mode is the same
    definition)."""
    if not 0 < level < 1:
        raise O2FError(f"interval level must lie in (0, 1), got {level}")
    values, counts = replicates.defined()
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], weights=counts, method="inverted_cdf")
    return float(low), float(high)


def image_variance(per_seed: np.ndarray) -> float:
    """The variance the test images add to a mean over seeds that more seeds do not shrink: the part of
    the image draws' effect every seed shares. ``per_seed[i, r]`` is seed i's comparison on image multiset
    r (NaN where undefined). With v the mean over seeds of each seed's variance over the draws and V the
    variance of the seeds' mean, V = c + (v - c) / n, so c = (n V - v) / (n - 1), floored at 0; the rest
    of v (seed x image) already lies in the seeds' spread. One seed: V itself (nothing to separate)."""
    values = np.asarray(per_seed, dtype=float)
    values = values[:, ~np.isnan(values).any(axis=0)]
    n = values.shape[0]
    if values.shape[1] < 2:
        return 0.0
    spread_of_mean = float(np.var(values.mean(axis=0), ddof=1))
    if n == 1:
        return spread_of_mean
    mean_spread = float(np.mean(np.var(values, axis=1, ddof=1)))
    return max(0.0, (n * spread_of_mean - mean_spread) / (n - 1))


def seed_t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float | None, float | None]:
    """Student t interval of the mean over seeds (seed noise only, the test set held fixed);
    (None, None) below two values."""
    if len(values) < 2:
        return None, None
    mean, sem = float(np.mean(values)), float(stats.sem(values))
    if sem == 0:
        return mean, mean
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def tail_p_value(replicates: Replicates, wrong_side: Callable[[np.ndarray], np.ndarray]) -> float:
    """The bootstrap's share of draws on the null's side: (k+1)/(B+1) for B sampled replicates, k of them
    on that side (the +1 keeps a Monte Carlo p-value valid, never 0); the exact share for the exact mode."""
    values, counts = replicates.defined()
    k = int(counts[wrong_side(values)].sum())
    if replicates.exact:
        return k / int(counts.sum())
    return (k + 1) / (int(counts.sum()) + 1)


def direction_p_value(replicates: Replicates, side: str, threshold: float) -> float:
    """One-sided p-value of a direction claim ("comparison > threshold", or <, >=, <=): the null is the
    claim's negation, and the draws that do not satisfy the claim count against it."""
    supports = _side(side)
    return tail_p_value(replicates, lambda v: ~supports(v, threshold))


def equivalence_p_value(replicates: Replicates, margin: float, center: float = 0.0) -> float:
    """Two one-sided tests (TOST) of |comparison - center| < margin: the larger of the p-values against
    "<= center - margin" and against ">= center + margin" (equivalence holds only if both are rejected)."""
    _check_margin(margin)
    below = tail_p_value(replicates, lambda v: v <= center - margin)
    above = tail_p_value(replicates, lambda v: v >= center + margin)
    return max(below, above)


def non_inferiority_p_value(replicates: Replicates, margin: float, side: str = ">",
                            center: float = 0.0) -> float:
    """One of TOST's two tests: the comparison is no worse than center by more than margin. ``side`` says
    which way is better (">"/">=": higher, e.g. AP; "<"/"<=": lower, e.g. mMR)."""
    _check_margin(margin)
    if _higher_is_better(side):
        return tail_p_value(replicates, lambda v: v <= center - margin)
    return tail_p_value(replicates, lambda v: v >= center + margin)


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down correction: adjusted p-values (in the input's order) and which are rejected at
    family-wise level alpha. The i-th smallest p is scaled by (m - i + 1) and the adjusted values are
    made non-decreasing in that order, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise O2FError(f"holm needs p-values in [0, 1], got {list(p_values)}")
    if not 0 < alpha < 1:
        raise O2FError(f"alpha must lie in (0, 1), got {alpha}")
    order = np.argsort(p, kind="stable")
    scaled = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted, adjusted <= alpha


def direction_verdict(side: str, threshold: float, low: float | None, high: float | None) -> str:
    """"holds" when the whole interval is on the claim's side of the threshold, "contradicted" when all
    of it is on the other side, "not resolved" otherwise: with the report's 95 % interval,
    a one-sided test at 2.5 % each way."""
    if low is None or high is None:
        return NOT_RESOLVED
    supports = _side(side)
    if supports(low, threshold) and supports(high, threshold):
        return HOLDS
    if not supports(low, threshold) and not supports(high, threshold):
        return CONTRADICTED
    return NOT_RESOLVED


def equivalence_verdict(low: float | None, high: float | None, margin: float, center: float = 0.0) -> str:
    """Equivalence within center ± margin from the interval at 1 - 2 alpha (TOST's interval): "holds" when
    it lies strictly inside, "contradicted" when it lies wholly outside, "not resolved" otherwise."""
    _check_margin(margin)
    if low is None or high is None:
        return NOT_RESOLVED
    if center - margin < low and high < center + margin:
        return HOLDS
    if high < center - margin or low > center + margin:
        return CONTRADICTED
    return NOT_RESOLVED


def non_inferiority_verdict(low: float | None, high: float | None, margin: float, side: str = ">",
                            center: float = 0.0) -> str:
    """Non-inferiority by at most margin: "holds" when the interval's worse end is better than
    center - margin (higher is better) or center + margin (lower is better), "contradicted" when the
    whole interval is worse than that, "not resolved" otherwise."""
    _check_margin(margin)
    if low is None or high is None:
        return NOT_RESOLVED
    if _higher_is_better(side):
        bound = center - margin
        return HOLDS if low > bound else CONTRADICTED if high < bound else NOT_RESOLVED
    bound = center + margin
    return HOLDS if high < bound else CONTRADICTED if low > bound else NOT_RESOLVED


def magnitude_reading(paper: float | None, low: float | None, high: float | None) -> str | None:
    """Where the paper's value lies against our interval: "inside", "below" or "above" it (None without a
    paper value, "no interval" without an interval). "holds" says the direction; this says the size."""
    if paper is None:
        return None
    if low is None or high is None:
        return NO_INTERVAL
    if paper < low:
        return BELOW
    if paper > high:
        return ABOVE
    return INSIDE


def t_test_power(n: int, sd: float, effect: float, alpha: float = ALPHA, one_sided: bool = True,
                 image_var: float = 0.0) -> float:
    """Power of a one-sample t-test on n per-seed differences with standard deviation sd against a true
    mean ``effect``: the noncentral t's mass beyond the critical value(s). ``image_var`` is the variance the
    fixed test set adds to the mean over seeds, which more seeds do not shrink (standard error
    sqrt(sd^2 / n + image_var))."""
    df, ncp = n - 1, abs(effect) / math.sqrt(sd * sd / n + image_var)
    if one_sided:
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, ncp))
    critical = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(critical, df, ncp) + stats.nct.cdf(-critical, df, ncp))


def seeds_for_power(sd: float, effect: float, alpha: float = ALPHA, power: float = 0.8,
                    one_sided: bool = True, image_var: float = 0.0) -> int | None:
    """The fewest seeds n >= 2 at which a paired t-test over seeds detects ``effect`` with the given power,
    given the per-seed standard deviation ``sd`` of the comparison and the test images' variance
    ``image_var`` (t_test_power). None when no n up to MAX_SEEDS_FOR_POWER does: always so for effect 0
    (there is nothing to detect), and where the test images alone keep the effect from the level."""
    if not (sd >= 0 and math.isfinite(sd)) or not math.isfinite(effect):
        raise O2FError(f"seeds_for_power needs a finite sd >= 0 and a finite effect, got sd={sd}, effect={effect}")
    if not (image_var >= 0 and math.isfinite(image_var)):
        raise O2FError(f"seeds_for_power needs a finite image variance >= 0, got {image_var}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise O2FError(f"alpha and power must lie in (0, 1), got alpha={alpha}, power={power}")
    if effect == 0:
        return None
    if sd == 0 and image_var == 0:
        return 2  # no noise at all: the smallest sample that has a t-test at all
    for n in range(2, MAX_SEEDS_FOR_POWER + 1):
        if t_test_power(n, sd, effect, alpha, one_sided, image_var) >= power:
            return n
    return None


def images_limit_power(effect: float, image_var: float, alpha: float = ALPHA, power: float = 0.8,
                       one_sided: bool = True) -> bool:
    """Whether the test images' variance alone keeps ``effect`` from the level at that power, however many
    seeds: with infinitely many the t-test is a z-test with standard error sqrt(image_var)."""
    if image_var <= 0 or effect == 0:  # no effect: nothing to detect (seeds_for_power says none)
        return False
    critical = stats.norm.ppf(1 - (alpha if one_sided else alpha / 2))
    return abs(effect) / math.sqrt(image_var) < critical + stats.norm.ppf(power)


def _side(side: str) -> Callable:
    if side not in SIDES:
        raise O2FError(f"unknown side '{side}'; choose from {', '.join(SIDES)}")
    return SIDES[side]


def _higher_is_better(side: str) -> bool:
    _side(side)
    return side in (">", ">=")


def _check_margin(margin: float) -> None:
    if not margin > 0:
        raise O2FError(f"an equivalence or non-inferiority margin must be positive, got {margin}")
