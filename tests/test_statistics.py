"""The claims' arithmetic: the crossed bootstrap against a direct enumeration of every draw, intervals,
p-values, Holm's correction, verdicts, the power figure and the failed-run rule, against values
computed by hand or with scipy directly."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from o2f.errors import O2FError
from o2f.reporting import statistics as S

SEEDS = [0, 1, 2]
# Per-image scores of two runs at three seeds on three test images; a run's "metric" on an image multiset
# is the mean of its images' scores (duplicates count twice), a stand-in for AP that is easy to enumerate.
SCORES = {
    "a": {0: [0.50, 0.20, 0.90], 1: [0.40, 0.30, 0.70], 2: [0.60, 0.10, 0.80]},
    "b": {0: [0.30, 0.25, 0.60], 1: [0.45, 0.10, 0.50], 2: [0.20, 0.30, 0.75]},
}


def mean_metric(run: str, seed: int, images: np.ndarray) -> float:
    assert list(images) == sorted(images), "the bootstrap passes image multisets sorted"
    return float(np.mean([SCORES[run][seed][i] for i in images]))


def difference(values) -> float:
    return values["a"] - values["b"]


def hand_enumeration() -> list[float]:
    """Every ordered draw of 3 seeds and of 3 images, each equally likely: 27 x 27 replicates."""
    out = []
    for seed_draw in itertools.product(SEEDS, repeat=3):
        for image_draw in itertools.product(range(3), repeat=3):
            per_seed = [np.mean([SCORES["a"][s][i] for i in image_draw]) -
                        np.mean([SCORES["b"][s][i] for i in image_draw]) for s in seed_draw]
            out.append(float(np.mean(per_seed)))
    return out


def expanded(replicates: S.Replicates) -> np.ndarray:
    return np.sort(np.repeat(replicates.values, replicates.counts))


def test_exact_mode_is_the_direct_enumeration():
    exact = S.crossed_bootstrap(["a", "b"], SEEDS, 3, mean_metric, difference, exact=True)
    direct = np.sort(hand_enumeration())
    assert exact.counts.sum() == 27 * 27
    assert len(exact.values) == 10 * 10  # distinct (seed multiset, image multiset) pairs
    np.testing.assert_allclose(expanded(exact), direct, atol=1e-12)
    low, high = S.percentile_interval(exact)
    assert (low, high) == pytest.approx(tuple(np.quantile(direct, [0.025, 0.975], method="inverted_cdf")),
                                        abs=1e-12)
    # exact p-value: the share of the 729 draws on the wrong side, no Monte Carlo +1
    assert S.direction_p_value(exact, ">", 0.1234) == pytest.approx(np.mean(direct <= 0.1234), abs=1e-12)


def test_multisets_count_every_ordered_draw():
    sets = S.multisets(3)
    assert len(sets) == 10 and sum(ways for _, ways in sets) == 27
    assert dict(sets)[(0, 0, 0)] == 1 and dict(sets)[(0, 0, 1)] == 3 and dict(sets)[(0, 1, 2)] == 6


def test_sampled_replicates_follow_the_stated_draws():
    """Replicate r: seeds from the generator seeded [rng_seed, 0], images from [rng_seed, 1] (fixed by the
    test set's size alone), the comparison averaged over the drawn seeds on the one image multiset."""
    reps = S.crossed_bootstrap(["a", "b"], SEEDS, 3, mean_metric, difference, n_resamples=50, rng_seed=7)
    seed_draws = np.random.default_rng([7, 0]).integers(0, 3, (50, 3))
    image_draws = np.random.default_rng([7, 1]).integers(0, 3, (50, 3))
    expected = [np.mean([np.mean([SCORES["a"][SEEDS[s]][i] - SCORES["b"][SEEDS[s]][i] for i in images])
                         for s in seeds]) for seeds, images in zip(seed_draws, image_draws, strict=True)]
    np.testing.assert_allclose(reps.values, expected, atol=1e-12)
    assert not reps.exact and (reps.counts == 1).all()


def test_sampled_bootstrap_approaches_the_exact_distribution():
    exact = S.crossed_bootstrap(["a", "b"], SEEDS, 3, mean_metric, difference, exact=True)
    sampled = S.crossed_bootstrap(["a", "b"], SEEDS, 3, mean_metric, difference)
    assert len(sampled.values) == S.N_RESAMPLES
    exact_mean = np.average(exact.values, weights=exact.counts)
    assert abs(sampled.values.mean() - exact_mean) < 4 * sampled.values.std() / math.sqrt(S.N_RESAMPLES)
    again = S.crossed_bootstrap(["a", "b"], SEEDS, 3, mean_metric, difference)
    np.testing.assert_array_equal(sampled.values, again.values)  # the default seed makes it reproducible


def test_both_sides_see_the_same_images_and_seeds():
    """b = a - 0.1 on every image at every seed: paired draws give exactly 0.1 on every replicate, however
    much a itself varies between seeds and images."""
    def metric(run, seed, images):
        value = mean_metric("a", seed, images)
        return value if run == "a" else value - 0.1

    reps = S.crossed_bootstrap(["a", "b"], SEEDS, 3, metric, difference, n_resamples=200)
    np.testing.assert_allclose(reps.values, 0.1, atol=1e-12)


def test_metric_calls_are_cached_per_run_seed_and_multiset():
    calls = []

    def counting(run, seed, images):
        calls.append((run, seed, tuple(images)))
        return mean_metric(run, seed, images)

    S.crossed_bootstrap(["a", "b"], SEEDS, 3, counting, difference, exact=True)
    assert len(calls) == len(set(calls)) == 2 * 3 * 10  # runs x seeds x image multisets, once each


def test_an_undefined_comparison_is_counted_and_left_out():
    def ratio(values):
        return values["a"] / values["b"]

    def metric(run, seed, images):
        return 0.0 if (run == "b" and list(images) == [0, 0, 0]) else 1.0 + seed

    reps = S.crossed_bootstrap(["a", "b"], SEEDS, 3, metric, ratio, exact=True)
    assert reps.undefined == 27  # every seed draw with the image draw (0, 0, 0)
    assert S.percentile_interval(reps) == (1.0, 1.0)


def test_percentile_interval_and_tail_p_values_by_hand():
    sampled = S.Replicates(np.array([-1.0, 0.5, 2.0, 3.0]), np.ones(4, dtype=np.int64), exact=False)
    # inverse empirical CDF: F = .25, .5, .75, 1 -> the 25 % quantile is -1, the 75 % quantile is 2
    assert S.percentile_interval(sampled, level=0.5) == (-1.0, 2.0)
    assert S.direction_p_value(sampled, ">", 0.0) == pytest.approx((1 + 1) / (4 + 1))
    assert S.direction_p_value(sampled, ">=", 0.5) == pytest.approx((1 + 1) / (4 + 1))
    assert S.direction_p_value(sampled, ">", 0.5) == pytest.approx((2 + 1) / (4 + 1))
    assert S.direction_p_value(sampled, "<", 0.0) == pytest.approx((3 + 1) / (4 + 1))
    exact = S.Replicates(np.array([-1.0, 0.5, 2.0, 3.0]), np.array([1, 1, 2, 4]), exact=True)
    assert S.direction_p_value(exact, ">", 0.0) == pytest.approx(1 / 8)
    assert S.percentile_interval(exact, level=0.5) == (0.5, 3.0)  # F = 1/8, 2/8, 4/8, 1: .25 at 0.5, .75 at 3


def test_equivalence_and_non_inferiority_p_values():
    reps = S.Replicates(np.array([-0.6, -0.2, 0.1, 0.3, 0.8]), np.ones(5, dtype=np.int64), exact=False)
    # margin 0.5: one draw <= -0.5, one >= 0.5 -> both one-sided p are (1 + 1) / 6
    assert S.equivalence_p_value(reps, 0.5) == pytest.approx(2 / 6)
    # margin 0.75 around 0.1: no draw <= -0.65 nor >= 0.85 -> 1 / 6
    assert S.equivalence_p_value(reps, 0.75, center=0.1) == pytest.approx(1 / 6)
    # margin 0.25: one draw <= -0.25 (2 / 6), two >= 0.25 (3 / 6)
    assert S.equivalence_p_value(reps, 0.25) == pytest.approx(3 / 6)
    assert S.non_inferiority_p_value(reps, 0.5, ">") == pytest.approx(2 / 6)
    assert S.non_inferiority_p_value(reps, 0.1, "<") == pytest.approx((3 + 1) / 6)  # 0.1, 0.3, 0.8 >= 0.1


def test_holm_by_hand():
    adjusted, reject = S.holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 scaled by 4, 3, 2, 1: .02, .03, .06, .04 -> running max .02 .03 .06 .06
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert reject.tolist() == [True, False, False, True]
    adjusted, reject = S.holm([0.5, 0.6])
    np.testing.assert_allclose(adjusted, [1.0, 1.0])
    assert not reject.any()
    adjusted, reject = S.holm([])
    assert adjusted.size == 0 and reject.size == 0


@pytest.mark.parametrize(("side", "low", "high", "verdict"), [
    (">", 0.1, 2.0, S.HOLDS), (">", -0.1, 2.0, S.NOT_RESOLVED), (">", -2.0, -0.1, S.CONTRADICTED),
    (">", 0.0, 1.0, S.NOT_RESOLVED), (">=", 0.0, 1.0, S.HOLDS), ("<", -2.0, -1.0, S.HOLDS),
    ("<", 1.0, 2.0, S.CONTRADICTED), (">", None, None, S.NOT_RESOLVED)])
def test_direction_verdict(side, low, high, verdict):
    assert S.direction_verdict(side, 0.0, low, high) == verdict


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (-0.4, 0.4, S.HOLDS), (-0.6, 0.4, S.NOT_RESOLVED), (0.6, 0.9, S.CONTRADICTED), (-0.9, -0.6, S.CONTRADICTED),
    (-0.9, 0.9, S.NOT_RESOLVED), (0.4, 0.6, S.NOT_RESOLVED), (None, None, S.NOT_RESOLVED)])
def test_equivalence_verdict(low, high, verdict):
    assert S.equivalence_verdict(low, high, margin=0.5) == verdict


@pytest.mark.parametrize(("side", "low", "high", "verdict"), [
    (">=", -0.4, 2.0, S.HOLDS), (">=", -0.6, 2.0, S.NOT_RESOLVED), (">=", -2.0, -0.6, S.CONTRADICTED),
    ("<", -2.0, 0.4, S.HOLDS), ("<", 0.6, 2.0, S.CONTRADICTED), ("<", 0.0, 0.6, S.NOT_RESOLVED)])
def test_non_inferiority_verdict(side, low, high, verdict):
    assert S.non_inferiority_verdict(low, high, margin=0.5, side=side) == verdict


def test_magnitude_reading():
    assert S.magnitude_reading(18.8, 0.0, 3.8) == S.ABOVE  # the paper's gap is far larger than ours
    assert S.magnitude_reading(0.5, -3.3, 3.6) == S.INSIDE
    assert S.magnitude_reading(-10.0, -5.6, -0.7) == S.BELOW
    assert S.magnitude_reading(1.0, None, None) == S.NO_INTERVAL
    assert S.magnitude_reading(None, 0.0, 1.0) is None


def test_seed_t_interval_by_hand():
    t_975_2 = 4.302652729749462  # Student t, 97.5 % quantile, 2 degrees of freedom (tables: 4.303)
    half = t_975_2 * 1.0 / math.sqrt(3)  # sd of 1, 2, 3 is 1
    assert S.seed_t_interval([1.0, 2.0, 3.0]) == pytest.approx((2 - half, 2 + half))
    assert S.seed_t_interval([1.0]) == (None, None)
    assert S.seed_t_interval([2.0, 2.0]) == (2.0, 2.0)


def test_seeds_for_power_textbook_case():
    """One-sample t-test, d = 1, alpha = .05 one-sided, power .8: n = 8 (G*Power: power .815 at 8)."""
    assert S.seeds_for_power(sd=1.0, effect=1.0, alpha=0.05, power=0.8) == 8
    assert S.seeds_for_power(sd=2.0, effect=-2.0) == 8  # only |effect| / sd matters


@pytest.mark.parametrize(("sd", "effect", "one_sided"), [(0.7, 0.4, True), (1.3, 0.9, False), (0.2, 0.5, True)])
def test_seeds_for_power_is_the_first_n_with_enough_power(sd, effect, one_sided):
    def power(n):  # by hand: the noncentral t's mass past the central t's critical value(s)
        df, ncp = n - 1, effect / sd * math.sqrt(n)
        if one_sided:
            return stats.nct.sf(stats.t.ppf(0.95, df), df, ncp)
        c = stats.t.ppf(0.975, df)
        return stats.nct.sf(c, df, ncp) + stats.nct.cdf(-c, df, ncp)

    n = S.seeds_for_power(sd, effect, alpha=0.05, power=0.8, one_sided=one_sided)
    assert power(n) >= 0.8
    assert n == 2 or power(n - 1) < 0.8


def test_seeds_for_power_edge_cases():
    assert S.seeds_for_power(sd=1.0, effect=0.0) is None
    assert S.seeds_for_power(sd=0.0, effect=0.5) == 2
    assert S.seeds_for_power(sd=1.0, effect=0.01) is None  # needs ~62000 seeds, past MAX_SEEDS_FOR_POWER


def test_power_with_the_test_images_variance_by_hand():
    """The fixed test set adds a variance more seeds do not shrink: standard error sqrt(sd^2 / n + v)."""
    df, ncp, c = 9, 1 / math.sqrt(1 / 10 + 0.1), stats.t.ppf(0.975, 9)  # n = 10, sd 1, effect 1, v = 0.1
    expected = stats.nct.sf(c, df, ncp) + stats.nct.cdf(-c, df, ncp)
    assert S.t_test_power(10, 1.0, 1.0, 0.05, one_sided=False, image_var=0.1) == pytest.approx(expected)
    without = S.seeds_for_power(1.0, 1.0, 0.05, one_sided=False)
    assert S.seeds_for_power(1.0, 1.0, 0.05, one_sided=False, image_var=0.01) > without
    # v = 0.25: even infinitely many seeds leave a standard error of 0.5, an effect of 2 of them: power ~0.52
    assert S.seeds_for_power(1.0, 1.0, 0.05, one_sided=False, image_var=0.25) is None
    assert S.images_limit_power(1.0, 0.25, 0.05, one_sided=False)  # 1 / 0.5 = 2 < 1.96 + 0.84
    assert not S.images_limit_power(1.0, 0.1, 0.05, one_sided=False)  # 3.16 > 2.80: seeds can get there
    assert not S.images_limit_power(1.0, 0.0, 0.05)
    assert not S.images_limit_power(0.0, 0.25, 0.05)  # no effect: nothing to detect, not the images' fault
    # no seed noise, standard error 0.1: ncp 10, yet two seeds' t(1) critical value is 12.7; three seeds' 4.3
    assert S.seeds_for_power(0.0, 1.0, 0.05, one_sided=False, image_var=0.01) == 3


def test_image_variance_is_the_part_of_the_draws_every_seed_shares():
    # seeds move together on the draws (1, 3) and (1, 3): per-seed variance 2, the mean's 2: all shared
    assert S.image_variance(np.array([[1.0, 3.0], [1.0, 3.0]])) == pytest.approx(2.0)
    # opposite moves (1, 3) and (3, 1): the mean never moves; nothing shared, all seed x image
    assert S.image_variance(np.array([[1.0, 3.0], [3.0, 1.0]])) == 0.0
    # (0, 2, 4) and (2, 2, 2): v = (4 + 0) / 2 = 2, mean (1, 2, 3): V = 1, c = (2 x 1 - 2) / 1 = 0
    assert S.image_variance(np.array([[0.0, 2.0, 4.0], [2.0, 2.0, 2.0]])) == pytest.approx(0.0)
    # three seeds (0, 3), (1, 4), (2, 2): v = (4.5 + 4.5 + 0) / 3 = 3, mean (1, 3): V = 2, c = (3 x 2 - 3) / 2
    assert S.image_variance(np.array([[0.0, 3.0], [1.0, 4.0], [2.0, 2.0]])) == pytest.approx(1.5)
    assert S.image_variance(np.array([[1.0, np.nan, 3.0]])) == pytest.approx(2.0)  # one seed; NaN draws left out


def test_failed_run_stuck_regression_loss():
    healthy = [{"epoch": e, "loss_bbox": v} for e, v in enumerate([0.9, 0.7, 0.6, 0.55], start=1)]
    assert S.failed_run(healthy, 30.0, [31.0, 29.0]) is None
    stuck = [{"epoch": 1, "loss_bbox": 0.9}, {"epoch": 2, "loss_bbox": 1.0004},
             {"epoch": 3, "loss_bbox": 0.9998}, {"epoch": 4, "loss_bbox": 1.0}, {"epoch": 5, "loss_bbox": 1.0}]
    reason = S.failed_run(stuck, 30.0, [31.0, 29.0])
    assert reason is not None and "epochs 2-5" in reason and "\n" not in reason
    two_epochs = stuck[:3] + [{"epoch": 4, "loss_bbox": 0.8}, {"epoch": 5, "loss_bbox": 1.0}]
    assert S.failed_run(two_epochs, 30.0, [31.0, 29.0]) is None
    # o2f's head weighs its GIoU loss by 2: the degenerate value is 2
    doubled = [{"epoch": e, "loss_bbox": 2.0} for e in (1, 2, 3)]
    assert S.failed_run(doubled, 30.0, [31.0], loss_weight=2.0) is not None
    assert S.failed_run(doubled, 30.0, [31.0]) is None
    off_by = [{"epoch": e, "loss_bbox": 1.002} for e in (1, 2, 3)]  # outside the 1e-3 tolerance
    assert S.failed_run(off_by, 30.0, [31.0]) is None


def test_failed_run_outlying_final_metric():
    assert "median 31" in S.failed_run([], 15.0, [30.0, 31.0, 40.0])  # below half of 31
    assert S.failed_run([], 16.0, [30.0, 31.0, 40.0]) is None
    # a miss rate (lower is better, worst 1): 0.95 is 0.05 from the worst, the others' median 0.4 from it
    assert S.failed_run([], 0.95, [0.6, 0.62], worst=1.0) is not None
    assert S.failed_run([], 0.75, [0.6, 0.62], worst=1.0) is None
    assert S.failed_run([], 0.0, []) is None  # nothing to compare with


def test_bad_input_is_one_line():
    reps = S.Replicates(np.array([1.0]), np.array([1]), exact=False)
    cases = [lambda: S.holm([0.2, 1.5]), lambda: S.direction_p_value(reps, "=>", 0.0),
             lambda: S.equivalence_p_value(reps, -1.0), lambda: S.percentile_interval(reps, level=95),
             lambda: S.seeds_for_power(sd=-1.0, effect=1.0),
             lambda: S.crossed_bootstrap(["a"], [0, 0], 3, mean_metric, difference),
             lambda: S.crossed_bootstrap(["a", "b"], SEEDS, 17, mean_metric, difference, exact=True),
             lambda: S.percentile_interval(S.Replicates(np.array([math.nan]), np.array([1]), exact=False))]
    for case in cases:
        with pytest.raises(O2FError) as err:
            case()
        assert "\n" not in str(err.value)


def test_no_torch_or_mmdet_import():
    """The report imports this module; it must stay light."""
    import subprocess
    import sys

    code = ("import sys, o2f.reporting.statistics; "
            "print(sorted(m for m in ('torch', 'mmdet', 'mmengine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
