"""Benchmark the matcher on the labelled cases in ``scripts/data/matching_cases.json``.

Each case holds a track, the candidates a search returned, the index of the
candidate that is the same recording (``correct``, or ``null`` when none is)
and, optionally, ``acceptable``: other candidates carrying that same
recording (a lyric video of the album audio, a Topic upload). Picking any of
those counts as right.

Two sets are scored:

- the labelled set as written (Spotify Web API rows: every artist, the
  duration, often the ISRC);
- the *export shape*: the same cases, plus those of
  ``scripts/data/matching_cases_export.json``, reduced to what a row of a
  Spotify account-data export carries (title, the first artist, the album;
  no duration, ISRC or explicit flag, and ``missing`` saying so).

For each set it prints the number of cases; the precision of auto-accepted
matches (accepted and right / accepted); the recall of auto-accept (accepted
and right / cases that have a right candidate); top-1 accuracy on those
cases; and how many cases went to review or stayed unresolved. The last line
is ``PASS`` when the labelled set reaches precision >= 0.99 at recall >=
0.90 and the export shape precision >= 0.98 (its recall is lower by nature:
without a duration, videos are held for review), else ``FAIL`` (exit status
1). ``--verbose`` lists each case that was not handled right.

Usage: ``.venv/bin/python scripts/bench_matching.py [--verbose] [--cases PATH] [--export-cases PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from tunecrate.core.matching import Decision, Thresholds, decide, explain
from tunecrate.core.types import OPTIONAL_FIELDS, Candidate, TrackInfo

CASES_PATH = Path(__file__).resolve().parent / "data" / "matching_cases.json"
EXPORT_CASES_PATH = Path(__file__).resolve().parent / "data" / "matching_cases_export.json"
MIN_PRECISION = 0.99
MIN_RECALL = 0.90
MIN_EXPORT_PRECISION = 0.98
#: What an account-data export row leaves out (it keeps the title, the first artist and the album).
EXPORT_MISSING = frozenset(OPTIONAL_FIELDS) - {"album"}


@dataclass(frozen=True)
class Case:
    """One labelled case: ``right`` holds the indices of candidates that are the recording."""

    id: str
    note: str
    track: TrackInfo
    candidates: tuple[Candidate, ...]
    right: frozenset[int]


@dataclass(frozen=True)
class Report:
    """Figures of one run; ratios are ``None`` when their denominator is 0."""

    cases: int
    with_right: int
    accepted: int
    accepted_right: int
    top1_right: int
    review: int
    unresolved: int

    @property
    def precision(self) -> float | None:
        return self.accepted_right / self.accepted if self.accepted else None

    @property
    def recall(self) -> float | None:
        return self.accepted_right / self.with_right if self.with_right else None

    @property
    def top1(self) -> float | None:
        return self.top1_right / self.with_right if self.with_right else None

    @property
    def passed(self) -> bool:
        return (self.precision or 0.0) >= MIN_PRECISION and (self.recall or 0.0) >= MIN_RECALL


def load_cases(path: Path = CASES_PATH) -> list[Case]:
    """Read the labelled set; durations are in ms."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for raw in data["cases"]:
        t = raw["track"]
        track = TrackInfo(
            track_id=t["track_id"],
            title=t["title"],
            artists=tuple(t["artists"]),
            album=t.get("album", ""),
            duration_ms=t.get("duration_ms", 0),
            explicit=t.get("explicit", False),
            isrc=t.get("isrc"),
            missing=frozenset(t.get("missing", ())),
        )
        candidates = tuple(
            Candidate(
                url=c["url"],
                title=c["title"],
                artist=c["artist"],
                duration_ms=c.get("duration_ms"),
                provider=c["provider"],
                isrc=c.get("isrc"),
                verified=c.get("verified", False),
                album=c.get("album"),
            )
            for c in raw["candidates"]
        )
        right = set(raw.get("acceptable", []))
        if raw["correct"] is not None:
            right.add(raw["correct"])
        cases.append(Case(raw["id"], raw["note"], track, candidates, frozenset(right)))
    return cases


def export_shape(case: Case) -> Case:
    """``case`` as a Spotify account-data export row describes its track: the first artist only, no
    duration, ISRC or explicit flag, and ``missing`` naming those (``artists`` included)."""
    track = replace(case.track, artists=case.track.artists[:1], duration_ms=0, isrc=None, explicit=False,
                    missing=EXPORT_MISSING)
    return replace(case, id=f"{case.id}/export", track=track)


def _picked(case: Case, decision: Decision) -> int | None:
    """Index of the candidate the decision's best match came from."""
    if decision.best is None:
        return None
    return case.candidates.index(decision.best.candidate)


def evaluate(
    cases: list[Case], thresholds: Thresholds = Thresholds()
) -> tuple[Report, list[tuple[Case, Decision, str]]]:
    """Run :func:`decide` on every case; return the figures and the mishandled cases.

    A case is mishandled when a wrong candidate is accepted, when a right
    candidate exists but is not accepted, or when it is not ranked first.
    """
    accepted = accepted_right = top1_right = review = unresolved = 0
    failures = []
    for case in cases:
        decision = decide(case.track, case.candidates, thresholds)
        picked = _picked(case, decision)
        is_right = picked in case.right
        top1_right += bool(case.right) and is_right
        if decision.status == "accepted":
            accepted += 1
            accepted_right += is_right
        elif decision.status == "review":
            review += 1
        else:
            unresolved += 1
        if decision.status == "accepted" and not is_right:
            failures.append((case, decision, "WRONG ACCEPT"))
        elif case.right and not is_right:
            failures.append((case, decision, f"top-1 wrong ({decision.status})"))
        elif case.right and decision.status != "accepted":
            failures.append((case, decision, f"not accepted ({decision.status})"))
    report = Report(
        cases=len(cases),
        with_right=sum(bool(c.right) for c in cases),
        accepted=accepted,
        accepted_right=accepted_right,
        top1_right=top1_right,
        review=review,
        unresolved=unresolved,
    )
    return report, failures


def _fmt(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.3f}"


def _print_report(name: str, report: Report) -> None:
    print(f"{name}: {report.cases} cases ({report.with_right} with a right candidate, "
          f"{report.cases - report.with_right} without)")
    print(f"  auto-accept precision: {_fmt(report.precision)} "
          f"({report.accepted_right}/{report.accepted} accepted were right)")
    print(f"  auto-accept recall:    {_fmt(report.recall)} "
          f"({report.accepted_right}/{report.with_right} cases with a right candidate)")
    print(f"  top-1 accuracy:        {_fmt(report.top1)} "
          f"({report.top1_right}/{report.with_right})")
    print(f"  accepted {report.accepted}, review {report.review}, unresolved {report.unresolved}")


def _print_failures(failures: list[tuple[Case, Decision, str]]) -> None:
    for case, decision, what in failures:
        print(f"[{case.id}] {what}: {case.track.artist} - {case.track.title}  ({case.note})")
        if decision.reason:
            print(f"   ({decision.reason})")
        for match in decision.ranked[:3]:
            index = case.candidates.index(match.candidate)
            mark = "*" if index in case.right else " "
            c = match.candidate
            print(f"   {mark} {c.artist} | {c.title}  ->  {explain(match)}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list mishandled cases")
    parser.add_argument("--cases", type=Path, default=CASES_PATH, help="labelled set (JSON)")
    parser.add_argument("--export-cases", type=Path, default=EXPORT_CASES_PATH,
                        help="extra cases scored in the export shape only (JSON)")
    args = parser.parse_args(argv)

    thresholds = Thresholds()
    cases = load_cases(args.cases)
    exported = [export_shape(c) for c in (*cases, *load_cases(args.export_cases))]
    report, failures = evaluate(cases, thresholds)
    export_report, export_failures = evaluate(exported, thresholds)

    if args.verbose:
        _print_failures(failures)
        _print_failures(export_failures)

    print(f"thresholds: accept {thresholds.accept:.2f}, review {thresholds.review:.2f}")
    _print_report("labelled set", report)
    _print_report("export shape (first artist only, no duration, no ISRC)", export_report)
    export_ok = (export_report.precision or 0.0) >= MIN_EXPORT_PRECISION
    passed = report.passed and export_ok
    print(f"{'PASS' if passed else 'FAIL'}: labelled precision >= {MIN_PRECISION} and recall >= {MIN_RECALL} "
          f"(got {_fmt(report.precision)} / {_fmt(report.recall)}); export-shape precision >= "
          f"{MIN_EXPORT_PRECISION} (got {_fmt(export_report.precision)})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
