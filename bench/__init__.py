"""The benchmark suite: drmaa2 beside the peers installed on this machine (task-spooler, Slurm, Grid Engine,
Docker), with the bare interpreter start as the floor. Run it with ``bench/run`` (see docs/performance.md).

It measures and reports; it asserts nothing about time. ``tests/test_bench_smoke.py`` runs it once with tiny
sizes so that it keeps working.
"""
