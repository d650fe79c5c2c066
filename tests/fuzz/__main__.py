"""``python -m tests.fuzz [--inputs N] [--seed S] [--jobs J]`` (``make fuzz``): the long budget.

Mutates the shipped examples N times, validates each input in a limited child, prints the
numbers (inputs, verdicts, slowest, peak RSS, machine load) and writes every failure whose
signature is new to ``tests/fuzz/regressions/`` (replayed by ``make test``). Exits 1 when
anything crashed, hung, blew the memory limit or printed a message that breaks the format.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from tests.fuzz.harness import TIME_LIMIT_S, Outcome, digest, run_many
from tests.fuzz.mutators import mutate
from tests.fuzz.seeds import seeds

REGRESSIONS = Path(__file__).parent / "regressions"
MAX_KEPT = 256 * 1024


def _inputs(count: int, rng: random.Random) -> list[tuple[str, str]]:
    pool = seeds()
    out: list[tuple[str, str]] = []
    for _ in range(count):
        seed = rng.choice(pool)
        out.append((seed.name, mutate(seed.text, rng)))
    return out


def _known() -> set[str]:
    known: set[str] = set()
    for path in REGRESSIONS.glob("*.yaml"):
        known.add(path.stem.rsplit("-", 1)[0])
    return known


def _keep(outcome: Outcome, text: str, known: set[str]) -> Path | None:
    tag = "".join(c if c.isalnum() or c in "._@" else "_" for c in outcome.signature)[:80]
    stem = f"{outcome.verdict}-{tag}"
    if stem in known or len(text.encode("utf-8", "surrogatepass")) > MAX_KEPT:
        return None
    known.add(stem)
    path = REGRESSIONS / f"{stem}-{digest(text)}.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="write new failures as regressions")
    parser.add_argument("--time-limit", type=int, default=TIME_LIMIT_S)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    inputs = _inputs(args.inputs, rng)
    print(f"fuzz: {len(inputs)} inputs from seed {seed}, {args.jobs} at once, load {_load()}")
    verdicts: Counter[str] = Counter()
    signatures: Counter[str] = Counter()
    examples: dict[str, Outcome] = {}
    slowest = slowest_wall = 0.0
    peak = 0
    known = _known()
    started = time.monotonic()
    texts = (text for _, text in inputs)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for done, (index, outcome) in enumerate(run_many(texts, args.jobs, args.time_limit), 1):
            verdicts[outcome.verdict] += 1
            slowest = max(slowest, outcome.seconds)
            slowest_wall = max(slowest_wall, outcome.wall)
            peak = max(peak, outcome.max_rss)
            if outcome.failed:
                signatures[f"{outcome.verdict} {outcome.signature}"] += 1
                examples.setdefault(f"{outcome.verdict} {outcome.signature}", outcome)
                if args.keep:
                    kept = _keep(outcome, inputs[index][1], known)
                    if kept:
                        print(f"  new: {kept.name} (from {inputs[index][0]}): {outcome.detail}")
            if done % 500 == 0:
                print(
                    f"  {done} done, {dict(verdicts)}, {time.monotonic() - started:.0f} s, "
                    f"slowest {slowest:.2f} s CPU, peak RSS {peak >> 20} MiB, load {_load()}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("fuzz: stopped early (SIGTERM or Ctrl-C): the numbers below cover the inputs done")
    elapsed = time.monotonic() - started
    print(
        f"fuzz: {sum(verdicts.values())} inputs in {elapsed:.0f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
    )
    print(
        f"fuzz: slowest {slowest:.2f} s CPU ({slowest_wall:.2f} s wall), "
        f"peak RSS {peak / 2**20:.0f} MiB, load {_load()}"
    )
    for sig, n in signatures.most_common():
        print(f"  {n:5d}  {sig}: {examples[sig].detail[:160]}")
    return 1 if signatures else 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
