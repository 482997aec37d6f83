"""The project speaks of itself: dates and model names, not how its work was organised; and the
links between its documents land on headings that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDINALS = ("first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
            "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-[a-z]+")
# A working period named by its place in a sequence. Streamlit's state of a user's page and a live
# camera stream ("session state", "the live session", "session summary") are not matched.
DIARY = re.compile(rf"\b({ORDINALS}|earlier|this|last|next|previous|that|one|each|later)\s+sessions?\b|multi-[s]ession",
                   re.IGNORECASE)
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".sh", ""}


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    names = listed.stdout.split() if listed.returncode == 0 else \
        [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return [ROOT / n for n in names if Path(n).suffix in TEXT_SUFFIXES and (ROOT / n).is_file()]


def test_no_tracked_file_counts_working_periods() -> None:
    found = []
    for path in tracked_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if DIARY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "say dates and model names instead:\n" + "\n".join(found)


def test_the_diary_pattern_leaves_the_products_own_words_alone() -> None:
    word = "session"  # spelt apart, so that this file does not say what it forbids
    assert DIARY.search(f"Declared in the sixteenth {word}") and DIARY.search(f"measured in an earlier {word}")
    assert DIARY.search(f"a multi-{word} run")
    for product in ("st.session_state", "the live session's summary", "Session summary", "sticky sessions"):
        assert not DIARY.search(product), product


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_between_documents_land_on_existing_headings() -> None:
    broken = []
    for path in (p for p in tracked_files() if p.suffix == ".md"):
        for target, anchor in re.findall(r"\]\(([^)#\s]*\.md)#([^)\s]+)\)", path.read_text()):
            document = (path.parent / target).resolve()
            if not document.is_file():
                broken.append(f"{path.relative_to(ROOT)} -> {target} (no such file)")
                continue
            anchors = {slug(h) for h in re.findall(r"^#+\s+(.*)$", document.read_text(), re.MULTILINE)}
            if anchor not in anchors:
                broken.append(f"{path.relative_to(ROOT)} -> {target}#{anchor}")
    assert not broken, "links to headings that do not exist:\n" + "\n".join(broken)


def test_every_experiment_config_has_its_row_in_the_notebook() -> None:
    notebook = (ROOT / "docs" / "experiments.md").read_text()
    mapping = (ROOT / "configs" / "experiments" / "README.md").read_text()
    configs = sorted((ROOT / "configs").glob("**/*.yaml"))
    assert configs
    for config in configs:
        assert f"`{config.stem}`" in notebook, f"{config.relative_to(ROOT)} has no row in docs/experiments.md"
        if config.parent.name == "experiments":
            assert f"`{config.name}`" in mapping, f"{config.name} is not mapped in configs/experiments/README.md"
    assert len((ROOT / "docs" / "experiments.md").read_bytes()) <= 40_000  # a notebook a newcomer reads
