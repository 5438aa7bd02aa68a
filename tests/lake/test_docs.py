from pathlib import Path

from fleetcast.lake.docs import END, START, markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_reference_matches_the_registry():
    text = README.read_text()
    section = text.split(START, 1)[1].split(END, 1)[0]
    assert section.strip() == markdown().strip(), "run: .venv/bin/python -m fleetcast.lake.docs README.md"
