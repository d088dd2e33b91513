"""Benchmarks of the bot: how fast and how lean it is, against the fakes from the tests.

Run ``python -m bench`` from the repository root (``--quick`` for a smoke run). Everything
runs on loopback: the fake Discord and the fake image API from ``tests/fakes`` in this
process, and the bots under test (the real ``bot.py``, a bare floor bot and a naive bot)
as child processes pointed at them through the same environment variables as in
production. See ``docs/performance.md`` for what each figure means and the latest results.
"""
