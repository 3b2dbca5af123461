"""Training curves: the logged terms and the held-out scores per configuration over steps, and the step
from which the held-out PSNR and the perceptual metric name different best configurations.

Input is the run's ``train_log.csv`` (:data:`vfibench.results.schema.LOG_KEYS`, one column per logged
term, and ``val_<metric>`` columns from :mod:`vfibench.validation`). Curves are averaged over seeds at
each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from vfibench.analysis.per_sample import Orientation
from vfibench.results.schema import CONFIG, HELD_OUT_PREFIX, LEARNING_RATE, SEED, STEP, TOTAL

KEYS = (CONFIG, SEED, STEP, LEARNING_RATE)


def seed_mean_curves(train_log: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every logged column, per (config, step), configurations in first-seen order."""
    if train_log.empty or not {CONFIG, STEP} <= set(train_log.columns):
        return pd.DataFrame(columns=[CONFIG, STEP])
    frame = train_log.copy()
    frame[CONFIG] = frame[CONFIG].astype(str)
    values = [c for c in frame.columns if c not in KEYS]
    for column in values:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    order = list(dict.fromkeys(frame[CONFIG]))
    means = frame.groupby([CONFIG, STEP], sort=False)[values].mean().reset_index()
    means[CONFIG] = pd.Categorical(means[CONFIG], categories=order, ordered=True)
    return means.sort_values([CONFIG, STEP], kind="mergesort").reset_index(drop=True).astype({CONFIG: str})


def loss_columns(curves: pd.DataFrame) -> list[str]:
    """``total`` first, then each logged term (every column that is neither a key nor held-out)."""
    columns = [c for c in curves.columns if c not in KEYS and not c.startswith(HELD_OUT_PREFIX)]
    return ([TOTAL] if TOTAL in columns else []) + [c for c in columns if c != TOTAL]


def held_out_columns(curves: pd.DataFrame) -> list[str]:
    """The ``val_<metric>`` columns with at least one value."""
    return [c for c in curves.columns if c.startswith(HELD_OUT_PREFIX) and curves[c].notna().any()]


@dataclass(frozen=True)
class Parting:
    """From ``step`` on (to the end of training) the base metric and the other name different best
    configurations at every logged step; ``base_best`` and ``other_best`` are theirs at the last logged
    step (earlier steps may name others). ``step`` None when they agree at the last logged step."""

    step: int | None
    base_best: str
    other_best: str
    last_step: int

    def sentence(self, base: Orientation, other: Orientation) -> str:
        if self.step is None:
            return (f"On the held-out scenes, {base.label} and {other.label} agree on the best trained configuration "
                    f"('{self.base_best}') at the last logged step ({self.last_step}).")
        where = (f"at the last logged step ({self.last_step})" if self.step == self.last_step else
                 f"at every logged step from step {self.step} on; at the last ({self.last_step})")
        return (f"On the held-out scenes, {base.label} and {other.label} name different best trained configurations "
                f"{where}, {base.label}'s is '{self.base_best}' and {other.label}'s '{self.other_best}'.")


def parting_step(curves: pd.DataFrame, configs: Sequence[str], base: Orientation, other: Orientation) -> Parting | None:
    """When the held-out ``base`` (PSNR) and ``other`` (LPIPS) start to disagree for good on which of
    ``configs`` is best; None with fewer than two configurations or without both columns.

    At each step logged by every configuration, best = argmax of goodness (ties: the first in order).
    """
    columns = HELD_OUT_PREFIX + base.name, HELD_OUT_PREFIX + other.name
    if len(configs) < 2 or not set(columns) <= set(curves.columns):
        return None
    tables = [curves[curves[CONFIG].isin(configs)].pivot_table(index=STEP, columns=CONFIG, values=column)
              .reindex(columns=list(configs)).dropna() for column in columns]
    steps = tables[0].index.intersection(tables[1].index)
    if len(steps) == 0:
        return None
    best = [[str(o.goodness(table.loc[s]).astype(float).idxmax()) for s in steps]
            for table, o in zip(tables, (base, other))]
    parted = None
    for index in range(len(steps) - 1, -1, -1):
        if best[0][index] == best[1][index]:
            break
        parted = int(steps[index])
    return Parting(parted, best[0][-1], best[1][-1], int(steps[-1]))
