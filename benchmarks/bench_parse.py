"""Time the reply parser on long and hostile replies (target: linear; 1 MB well under 1 s).

A model can send anything, and one slow parse blocks every episode in flight, so both
readings (``parsing="strict"`` and ``"lenient"``) must run in time linear in the reply's
length whatever it holds. Each case builds a reply of about N characters and reports the
best of ``--repeat`` timings per reading; the ratio column divides each time by the one
for N / 10, which stays near 10 when the time is linear (and would be near 100 if it were
quadratic).

Usage: python benchmarks/bench_parse.py [--sizes 10000,100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time

from coop_utils.game.actions import parse_reply


def reply(n: int) -> str:
    """A well-formed reply whose private thoughts make it n characters long."""
    body = {"actions": [{"action": "broadcast", "content": "hello"}], "private_thoughts": ""}
    return json.dumps({**body, "private_thoughts": "x" * max(0, n - len(json.dumps(body)))})


CASES = {
    "well-formed reply": reply,
    "open braces '{{{'": lambda n: "{" * n,
    "empty objects '{}{}'": lambda n: "{}" * (n // 2),
    "quotes in braces '{\"{\"'": lambda n: '{"' * (n // 2),
    "prose": lambda n: "word " * (n // 5),
    "many small objects": lambda n: '{"a": 1} ' * (n // 9),
    "reply after 1 stray brace": lambda n: "{ " + reply(n - 2),
    "unterminated string": lambda n: '{"actions": "' + "y" * n,
}


def best(text: str, parsing: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        parse_reply(text, parsing)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"| case | reading | {' | '.join(f'{n:,} chars (s)' for n in sizes)} | ratio |")
    print("|---|---|" + "---:|" * (len(sizes) + 1))
    for name, make in CASES.items():
        for parsing in ("strict", "lenient"):
            secs = [best(make(n), parsing, args.repeat) for n in sizes]
            ratio = secs[-1] / secs[-2] if len(secs) > 1 and secs[-2] > 0 else float("nan")
            cells = " | ".join(f"{s:.4f}" for s in secs)
            print(f"| {name} | {parsing} | {cells} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
