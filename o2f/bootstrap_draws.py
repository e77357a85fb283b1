"""The bootstrap's image draws, fixed by the test set's size alone: a finished run's evidence computes its
metric on each draw once (``o2f.pipeline.evidence``) and the claims report pairs runs on the same draws
(``o2f.reporting.statistics``). numpy only, so either side imports it without the other."""

from __future__ import annotations

import numpy as np

N_RESAMPLES = 2000  # replicates: each 2.5 % tail holds 50 of them, enough for a stable 95 % percentile interval
BOOTSTRAP_SEED = 0  # the bootstrap's own random seed: a report rebuilt from the same runs gives the same intervals


def image_draws(n_images: int, n_resamples: int = N_RESAMPLES, rng_seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Every replicate's image multiset (n_resamples x n_images, each row sorted), from the generator seeded
    [rng_seed, 1]: fixed by the test set's size alone, so each run's metric on replicate r is computed once,
    where its detections are (``o2f.pipeline.evidence``), and every claim pairs its runs on the same images."""
    draws = np.random.default_rng([rng_seed, 1]).integers(0, n_images, size=(n_resamples, n_images))
    return np.sort(draws, axis=1)
