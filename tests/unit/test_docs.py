"""The docs say what the code does: the task reference is the tasks' own help, the settings
and declaration references cover every variable and field, quoted config lines exist, links
resolve, and drawing the diagram leaves the tracked files alone."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pojemnik
from pojemnik.declaration.swarm import Swarm
from pojemnik.scaffold import make_project
from pojemnik.tasks import namespace, reference
from pojemnik.tasks.diagram import DEFAULT_OUTPUT

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
TASKS_PAGE = ROOT / reference.PAGE
SPAN = re.compile(r"`([^`\n]+)`")


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_task_reference_is_what_the_tasks_help_says() -> None:
    expected = reference.render(namespace(ROOT))
    assert TASKS_PAGE.exists() and text_of(TASKS_PAGE) == expected, (
        f"{reference.PAGE} differs from the tasks' help: regenerate it with "
        f"`.venv/bin/{reference.REGENERATE}` in the repository and commit it")


def listed(tool: str) -> list[str]:
    """Task names as `invoke --list` / `fab --list` print them (one per line at indent 2;
    their JSON form names a renamed task by its function)."""
    result = subprocess.run([sys.executable, "-m", tool, "--list", "--list-format", "flat"],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return re.findall(r"^  ([a-z][\w.-]*)", result.stdout, re.M)


def test_invoke_and_fab_list_the_same_tasks_and_each_has_its_reference_section() -> None:
    tasks = listed("invoke")
    assert len(tasks) > 20 and sorted(listed("fabric")) == sorted(tasks)
    page = text_of(TASKS_PAGE)
    missing = [t for t in tasks if not re.search(rf"^## `{re.escape(t)}`", page, re.M)]
    assert missing == [], f"not in {reference.PAGE}: regenerate it ({reference.REGENERATE})"


def test_every_listed_task_is_named_in_a_written_page() -> None:
    """Beyond the generated reference: a reader of the guides meets every task."""
    spans = " ".join(" ".join(SPAN.findall(text_of(p))) for p in PAGES if p != TASKS_PAGE)
    missing = [t for t in listed("invoke")
               if not re.search(rf"(?<![\w.-]){re.escape(t)}(?![\w-])", spans)]
    assert missing == [], "add these tasks to docs/getting-started.md's table"


def table_names(page: str, heading: str) -> set[str]:
    """The backticked names in the first column of the table under `heading`."""
    section = page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.M)}


SETTINGS = text_of(DOCS / "reference" / "settings.md")


def test_the_settings_reference_lists_exactly_what_env_example_declares() -> None:
    declared = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text_of(ROOT / ".env.example"), re.M))
    documented = table_names(SETTINGS, "The example's settings (`.env.example`)")
    assert declared and documented == declared, (
        f"undocumented: {sorted(declared - documented)}, "
        f"not in .env.example: {sorted(documented - declared)}")


def test_every_setting_stack_py_reads_is_documented() -> None:
    read = set(re.findall(r"settings(?:\.get|\.int)?[\[(]\"([A-Z][A-Z0-9_]*)\"",
                          text_of(ROOT / "stack.py")))
    main = table_names(SETTINGS, "The example's settings (`.env.example`)")
    optional = table_names(SETTINGS, "Optional settings of the example")
    assert read and read <= main | optional, sorted(read - main - optional)
    assert optional <= read - main


def test_every_environment_variable_pojemnik_reads_is_documented() -> None:
    source = " ".join(text_of(p) for p in (ROOT / "pojemnik").rglob("*.py"))
    read = set(re.findall(r"(?:environ\.get|environ\[|getenv)\(?\"([A-Z][A-Z0-9_]*)\"", source))
    read -= {"COLUMNS", "TERM"}  # terminal width and type, not pojemnik's settings
    documented = table_names(SETTINGS, "pojemnik's own environment variables")
    assert read and documented == read, (
        f"undocumented: {sorted(read - documented)}, not read: {sorted(documented - read)}")


DECLARATION_TYPES = [getattr(pojemnik, name) for name in pojemnik.__all__
                     if dataclasses.is_dataclass(getattr(pojemnik, name))
                     and name not in ("Problem", "Settings")] + [Swarm]


@pytest.mark.parametrize("kind", DECLARATION_TYPES, ids=lambda k: k.__name__)
def test_every_declaration_field_has_its_row(kind: type) -> None:
    page = text_of(DOCS / "reference" / "declaration.md")
    sections = [s for s in page.split("\n## ")
                if re.match(rf"[^\n]*`{kind.__name__}`", s)]
    assert sections, f"docs/reference/declaration.md has no section for `{kind.__name__}`"
    rows = " ".join(line for line in sections[0].splitlines() if line.startswith("|"))
    missing = [f.name for f in dataclasses.fields(kind) if f"`{f.name}`" not in rows]
    assert missing == [], f"{kind.__name__}: no row for {missing}"


# "`line` (`config/...`)", "`line` in `images/...`", "`config/...` has `line`"
QUOTE = re.compile(r"`([^`\n]+)`,? (?:\(|in )`((?:config|images)/[^`]+)`"
                   r"|`((?:config|images)/[^`]+)` (?:has|includes) `([^`\n]+)`")


def quoted_lines() -> list[tuple[Path, str, str]]:
    found = []
    for page in PAGES:
        for match in QUOTE.finditer(" ".join(text_of(page).split())):
            line, path = (match.group(1), match.group(2)) if match.group(1) else (
                match.group(4), match.group(3))
            found.append((page, path, line))
    return found


def test_config_lines_the_docs_quote_are_in_the_files_they_name() -> None:
    quotes = quoted_lines()
    assert len(quotes) >= 3  # the pattern still finds the docs' quotes
    wrong = []
    for page, path, line in quotes:
        target = ROOT / path
        files = sorted(target.rglob("*")) if target.is_dir() else [target]
        texts = [" ".join(text_of(f).split()) for f in files if f.is_file()]
        if not any(" ".join(line.split()) in t for t in texts):
            wrong.append(f"{page.relative_to(ROOT)}: `{line}` is not in {path}")
    assert wrong == []


# A span that is a repository path: `config/nginx/nginx.conf`, `tests/unit/test_lock*.py`.
REPO_PATH = re.compile(r"(?:config|images|www|tests|bench|pojemnik|docs)/[\w./*-]*")


def test_every_path_the_docs_name_exists(tmp_path: Path) -> None:
    """In this repository, or (the getting-started page's files of a new project) in what
    `pojemnik init` makes."""
    made = tmp_path / "made"
    make_project(made, "docs-check")
    missing = []
    for page in PAGES:
        for span in SPAN.findall(text_of(page)):
            if REPO_PATH.fullmatch(span) and not any(
                    next(root.glob(span.rstrip("/")), None) for root in (ROOT, made)):
                missing.append(f"{page.relative_to(ROOT)}: {span}")
    assert missing == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", text_of(page))
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        text = re.sub(r"(?ms)^```.*?^```", "", text_of(page))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_readme_is_a_front_page() -> None:
    readme = text_of(ROOT / "README.md")
    assert len(readme.splitlines()) <= 150
    for command in ("./quickstart deploy", "./quickstart test", "fab -H", "pojemnik init"):
        assert command in readme, command


def test_the_diagrams_default_output_is_git_ignored() -> None:
    """`invoke diagram` with no --output never dirties a checkout's tracked files."""
    assert Path(DEFAULT_OUTPUT).parts[0] == ".pojemnik"
    templates = sorted((ROOT / "pojemnik" / "scaffold").rglob("gitignore.tmpl"))
    assert templates and all(".pojemnik/" in text_of(t).splitlines() for t in templates)
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DEFAULT_OUTPUT)], cwd=ROOT,
                             check=False)
    assert ignored.returncode == 0
