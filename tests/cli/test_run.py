"""Exit statuses of ``subseg`` as the README states them: 2 for a command-line mistake."""

from __future__ import annotations

import pytest

from bids_app.cli.run import main


def test_unknown_participant_is_a_command_line_mistake(sample_bids, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([str(sample_bids), str(tmp_path / "out"), "participant", "--participant-label", "07",
              "-w", str(tmp_path / "work")])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "no participant sub-07 (the dataset has sub-01, sub-02, sub-03)" in error


def test_unknown_option_is_a_command_line_mistake(sample_bids, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main([str(sample_bids), str(tmp_path / "out"), "participant", "--no-such-option"])
    assert exited.value.code == 2
