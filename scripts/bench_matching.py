"""Benchmark the matcher on the labelled cases in ``scripts/data/matching_cases.json``.

Each case holds a track, the candidates a search returned, the index of the
candidate that is the same recording (``correct``, or ``null`` when none is)
and, optionally, ``acceptable``: other candidates carrying that same
recording (a lyric video of the album audio, a Topic upload). Picking any of
those counts as right.

Prints the number of cases; the precision of auto-accepted matches
(accepted and right / accepted); the recall of auto-accept (accepted and
right / cases that have a right candidate); top-1 accuracy on those cases;
and how many cases went to review or stayed unresolved. The last line is
``PASS`` when precision >= 0.99 at recall >= 0.90, else ``FAIL`` (exit
status 1). ``--verbose`` lists each case that was not handled right.

Usage: ``.venv/bin/python scripts/bench_matching.py [--verbose] [--cases PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tunecrate.core.matching import Decision, Thresholds, decide, explain
from tunecrate.core.types import Candidate, TrackInfo

CASES_PATH = Path(__file__).resolve().parent / "data" / "matching_cases.json"
MIN_PRECISION = 0.99
MIN_RECALL = 0.90


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list mishandled cases")
    parser.add_argument("--cases", type=Path, default=CASES_PATH, help="labelled set (JSON)")
    args = parser.parse_args(argv)

    thresholds = Thresholds()
    cases = load_cases(args.cases)
    report, failures = evaluate(cases, thresholds)

    if args.verbose:
        for case, decision, what in failures:
            print(f"[{case.id}] {what}: {case.track.artist} - {case.track.title}  ({case.note})")
            for match in decision.ranked[:3]:
                index = case.candidates.index(match.candidate)
                mark = "*" if index in case.right else " "
                c = match.candidate
                print(f"   {mark} {c.artist} | {c.title}  ->  {explain(match)}")
        print()

    print(f"thresholds: accept {thresholds.accept:.2f}, review {thresholds.review:.2f}")
    print(f"cases: {report.cases} ({report.with_right} with a right candidate, "
          f"{report.cases - report.with_right} without)")
    print(f"auto-accept precision: {_fmt(report.precision)} "
          f"({report.accepted_right}/{report.accepted} accepted were right)")
    print(f"auto-accept recall:    {_fmt(report.recall)} "
          f"({report.accepted_right}/{report.with_right} cases with a right candidate)")
    print(f"top-1 accuracy:        {_fmt(report.top1)} "
          f"({report.top1_right}/{report.with_right})")
    print(f"accepted {report.accepted}, review {report.review}, unresolved {report.unresolved}")
    verdict = "PASS" if report.passed else "FAIL"
    print(f"{verdict}: precision >= {MIN_PRECISION} and recall >= {MIN_RECALL} "
          f"(got {_fmt(report.precision)} / {_fmt(report.recall)})")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
