"""Benchmark the trial classifier: accuracy against the gold labels and speed on real records.

Run from the repository root:  python bench/bench_classify.py [--data DIR] [--quiet]

Scores the development and the held-back part of the gold set apart (evaluation.gold_part). Prints
per-field and per-label precision, recall and F1 (full and minimal records) and every disagreement with
the classifier's evidence for the development part, only the figures for the held-back part, and trials
classified per second on one core.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from hemewatch.classification import classify_study, default_lexicon, to_guideline_labels
from hemewatch.classification.evaluation import (
    BOOLEAN_FIELDS,
    DEVELOPMENT,
    HELD_BACK,
    Scores,
    gold_part,
    minimal_record,
    score_labels,
)
from hemewatch.classification.guideline import GUIDELINE_FIELDS

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read one JSON object per line."""
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def label_records(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Classify records and map them to guideline labels."""
    return [to_guideline_labels(classify_study(record)) for record in records]


def print_scores(title: str, scores: Scores) -> None:
    """Print field and label figures."""
    print(f"\n== {title} ==")
    for name in BOOLEAN_FIELDS:
        print(f"{name:<28} accuracy {scores.accuracy[name]:.3f}")
    print(f"{'field / label':<28} {'P':>6} {'R':>6} {'F1':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for name in GUIDELINE_FIELDS:
        counts = scores.fields[name]
        print(
            f"{name:<28} {counts.precision:6.3f} {counts.recall:6.3f} {counts.f1:6.3f}"
            f" {counts.tp:4d} {counts.fp:4d} {counts.fn:4d}"
        )
        for label, label_counts in sorted(scores.labels[name].items()):
            row = label_counts
            print(
                f"  {label:<26} {row.precision:6.3f} {row.recall:6.3f} {row.f1:6.3f}"
                f" {row.tp:4d} {row.fp:4d} {row.fn:4d}"
            )


def print_disagreements(title: str, scores: Scores, predicted: Sequence[Mapping[str, Any]]) -> None:
    """Print each disagreement with the evidence of the labels the classifier added."""
    by_id = {item["nct_id"]: item for item in predicted}
    print(f"\n== disagreements, {title} ({len(scores.disagreements)}) ==")
    for item in scores.disagreements:
        print(f"{item.nct_id} {item.field}: expected {list(item.expected)} got {list(item.got)}")
        evidence = by_id.get(item.nct_id, {}).get("evidence", {}).get(item.field, {})
        for label in sorted(set(item.got) - set(item.expected)):
            for proof in evidence.get(label, [])[:3]:
                print(f"    + {label}: {proof['path']} = {proof['text']!r}")


def print_therapies(records: Sequence[Mapping[str, Any]]) -> None:
    """Print how many therapies the records give, by role, and how many stay unresolved."""
    roles: Counter[str] = Counter()
    unresolved: Counter[str] = Counter()
    no_modality = total = 0
    for record in records:
        for therapy in classify_study(record).therapies:
            total += 1
            roles[therapy.role] += 1
            if therapy.unresolved:
                unresolved[therapy.name.casefold()] += 1
                no_modality += therapy.modality is None
    print(f"\n== therapies ({len(records)} records) ==")
    print(f"{total} therapies; " + ", ".join(f"{role} {count}" for role, count in roles.most_common()))
    print(f"agent unresolved: {sum(unresolved.values())} ({no_modality} of them without a modality)")
    for name, count in unresolved.most_common(10):
        print(f"  {count:3d}  {name}")


def measure_speed(records: Sequence[Mapping[str, Any]], rounds: int = 5) -> float:
    """Return the best trials-per-second rate over a few rounds, in CPU time of this one process.

    CPU time rather than wall time, so that other work on a shared machine does not count against it.
    """
    default_lexicon()
    best = 0.0
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for record in records:
            classify_study(record)
        elapsed = time.process_time() - start
        best = max(best, len(records) / elapsed)
    return best


def main() -> None:
    """Run the benchmark and print its report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data directory")
    parser.add_argument("--quiet", action="store_true", help="omit per-label figures and disagreements")
    args = parser.parse_args()
    records = read_jsonl(args.data / "gold" / "dev_records.jsonl")
    gold = read_jsonl(args.data / "gold" / "labels.jsonl")
    start = time.perf_counter()
    default_lexicon()
    print(f"lexicon {default_lexicon().version} loaded in {time.perf_counter() - start:.2f} s")

    # Disagreements are printed for the development part only: the held-back part is scored, never
    # read, so that its figures tell how the rules do on records they were not written from.
    for part in (DEVELOPMENT, HELD_BACK):
        chosen = [i for i, label in enumerate(gold) if gold_part(label["nct_id"]) == part]
        part_records = [records[i] for i in chosen]
        part_gold = [gold[i] for i in chosen]
        predicted = label_records(part_records)
        full = score_labels(predicted, part_gold)
        predicted_minimal = label_records([minimal_record(record) for record in part_records])
        minimal = score_labels(predicted_minimal, part_gold)
        title = f"{part} part, {len(chosen)} records"
        if args.quiet or part == HELD_BACK:
            _print_summary(f"{title}, full records", full)
            _print_summary(f"{title}, minimal records", minimal)
        else:
            print_scores(f"{title}, full records", full)
            print_scores(f"{title}, minimal records", minimal)
            print_disagreements(f"{title}, full records", full, predicted)
            print_disagreements(f"{title}, minimal records", minimal, predicted_minimal)

    corpus = records + read_jsonl(args.data / "ctgov" / "other_studies.jsonl")
    print_therapies(corpus)
    rate = measure_speed(corpus)
    print(f"\n== speed ==\n{len(corpus)} trials, {rate:,.0f} trials/s on one core")


def _print_summary(title: str, scores: Scores) -> None:
    figures = ", ".join(f"{name} F1 {scores.fields[name].f1:.3f}" for name in GUIDELINE_FIELDS)
    accuracy = ", ".join(f"{name} {scores.accuracy[name]:.3f}" for name in BOOLEAN_FIELDS)
    print(f"{title}: {figures}; accuracy {accuracy}")


if __name__ == "__main__":
    main()
