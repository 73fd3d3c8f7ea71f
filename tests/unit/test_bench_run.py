"""bench.run's command line: the generator policy and how quiet a measurement must be to count."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench.run import noise_limit, parse_args  # noqa: E402


def test_defaults_batch_generator_and_a_stricter_limit_for_latency_runs() -> None:
    args = parse_args([])
    assert args.generator_policy == "batch"
    assert (args.quiet_threshold, args.quiet_threshold_latency) == (25.0, 5.0)


def test_full_load_cells_use_the_throughput_limit_latency_cells_the_latency_one() -> None:
    args = parse_args(["--quiet-threshold", "30", "--quiet-threshold-latency", "4", "--generator-policy", "normal"])
    assert args.generator_policy == "normal"
    assert noise_limit(args, "full") == 30
    assert noise_limit(args, "rate") == 4
    assert noise_limit(args, "single") == 4
