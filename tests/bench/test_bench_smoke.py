"""The benchmark runs from end to end at its smallest size, and writes its table.

Nothing here looks at a figure: how fast the machine is says nothing about the code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import BEGIN, END, main, update_document


def test_the_tiny_benchmark_runs_every_part_and_writes_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "performance.md"
    output.write_text(f"# Notes kept by hand\n\n{BEGIN}\nold figures\n{END}\n\nMore notes.\n")

    assert main(["--tiny", "--output", str(output)]) == 0

    printed = capsys.readouterr().out
    for section in ("Machine", "Settings", "Figures"):
        assert section in printed
    text = output.read_text()
    assert text.startswith("# Notes kept by hand")
    assert text.rstrip().endswith("More notes.")
    assert "old figures" not in text
    block = text.split(BEGIN)[1].split(END)[0]
    assert "Command: `python -m bench --tiny`" in block
    figures = {line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| ")}
    assert {"1", "2", "3", "4", "5", "6", "7", "8", "9"} <= figures


def test_the_video_part_runs_alone_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--tiny", "--only", "video", "--no-write"]) == 0

    printed = capsys.readouterr().out
    figures = {line.split()[0] for line in printed.split("Figures")[1].splitlines()[3:] if line}
    assert figures == {"8", "9"}
    assert "failed" not in printed
    assert "not delivered" not in printed
    assert list(tmp_path.iterdir()) == []


def test_a_missing_document_is_made_with_the_markers(tmp_path: Path) -> None:
    output = tmp_path / "docs" / "performance.md"
    update_document(output, "figures")
    update_document(output, "newer figures")
    text = output.read_text()
    assert text.count(BEGIN) == text.count(END) == 1
    assert "newer figures" in text
    assert "figures\n" not in text.replace("newer figures\n", "")
