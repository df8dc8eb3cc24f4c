import pytest

from aifinops.core.spreadsheet import csv_stream, safe_text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        # the full-width forms of = + - @
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d2", "'\uff0d2"),
        ("\uff20cmd", "'\uff20cmd"),
        ("Support", "Support"),
        (None, ""),
        (12, "12"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, cell):
    assert safe_text(value) == cell


def test_csv_stream_yields_one_line_per_row():
    lines = list(csv_stream(["a", "b"], iter([["1", "x,y"], ["2", "z"]])))

    assert lines == ["a,b\n", '1,"x,y"\n', "2,z\n"]
