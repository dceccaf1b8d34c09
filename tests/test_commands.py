"""Every command the repository names points at something that exists: the Makefile's recipes, the
dashboard's npm scripts, and the commands the README, docs/ and the scripts' own headers quote
(``./scripts/x``, ``python -m module``, ``python path.py``, ``make target``, ``npm run script``).

Checked statically (no command is run): a module must be importable, a path must exist relative to
the directory the command runs in (following ``cd``), and a program must be on PATH, in
``.venv/bin`` or in the dashboard's ``node_modules/.bin``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"
NODE_BIN = DASHBOARD / "node_modules" / ".bin"
# Shell words that are not programs to look up.
SHELL_WORDS = {"cd", "exec", "set", "export", "true", "false", "test", "[", "echo"}
DOCS = [ROOT / "README.md", DASHBOARD / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _make_targets() -> dict[str, list[str]]:
    """Each Makefile target with its recipe lines (``$(PY)`` expanded to its default)."""
    text = (ROOT / "Makefile").read_text()
    py = re.search(r"^PY \?= (.+)$", text, re.M)
    assert py is not None, "the Makefile sets PY"
    targets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip().replace("$(PY)", py.group(1)))
        elif match := re.match(r"^([A-Za-z][\w-]*):", line):
            current = targets.setdefault(match.group(1), [])
        else:
            current = None
    return targets


def _npm_scripts() -> dict[str, str]:
    scripts: dict[str, str] = json.loads((DASHBOARD / "package.json").read_text())["scripts"]
    return scripts


def _missing(command: str, cwd: Path) -> list[str]:
    """What ``command`` (a shell line, run in ``cwd``) names that does not exist."""
    problems: list[str] = []
    for part in re.split(r"&&|\|\||;|\|", command):
        words = shlex.split(part.strip().strip("()"))
        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]  # VAR=value prefixes
        if not words:
            continue
        program, args = words[0], words[1:]
        if program == "cd":
            cwd = (cwd / args[0]).resolve()
            if not cwd.is_dir():
                problems.append(f"cd {args[0]}: no such directory")
            continue
        if program in SHELL_WORDS:
            continue
        if "/" in program:
            path = (cwd / program).resolve()
            if not path.exists() and not (NODE_BIN.parent.name in path.parts and not NODE_BIN.exists()):
                problems.append(f"{program}: no such file (from {cwd.relative_to(ROOT.parent)})")
        elif not (shutil.which(program) or (ROOT / ".venv" / "bin" / program).exists()):
            if not (NODE_BIN / program).exists() and NODE_BIN.exists():
                problems.append(f"{program}: not a program here")
        for i, arg in enumerate(args):
            if arg == "-m" and i + 1 < len(args):
                if not _module_exists(args[i + 1]):
                    problems.append(f"-m {args[i + 1]}: no such module")
            elif re.search(r"\.(py|mjs|js|sh)$", arg) or (arg.startswith(("tests/", "scripts/", "envoy/"))):
                if not (cwd / arg).exists():
                    problems.append(f"{arg}: no such file (from {cwd.relative_to(ROOT.parent)})")
    return problems


@pytest.mark.parametrize("target", sorted(_make_targets()))
def test_makefile_target_runs_things_that_exist(target: str) -> None:
    recipe = _make_targets()[target]
    assert recipe, f"make {target} has no recipe"
    problems = [p for line in recipe for p in _missing(line, ROOT)]
    assert not problems, f"make {target}: {problems}"


@pytest.mark.parametrize("script", sorted(_npm_scripts()))
def test_npm_script_runs_things_that_exist(script: str) -> None:
    problems = _missing(_npm_scripts()[script], DASHBOARD)
    assert not problems, f"npm run {script}: {problems}"


def _quoted_commands(text: str) -> list[str]:
    """Commands quoted in prose or code blocks: `...` spans and lines of ```bash blocks."""
    spans = re.findall(r"`([^`\n]+)`", text)
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S):
        spans += [line.split("#")[0] for line in block.splitlines()]
    return [s.strip() for s in spans if s.strip()]


def _named_commands() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    headers = [p for p in (ROOT / "scripts").iterdir() if p.is_file()]
    for path in [*DOCS, *headers]:
        text = path.read_text()
        if path.parent.name == "scripts":  # a script's usage comment: its leading `#` lines
            text = "\n".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
            text = "\n".join(f"`{line}`" for line in text.splitlines())
        found += [(str(path.relative_to(ROOT)), command) for command in _quoted_commands(text)]
    return found


def _check_named(command: str) -> list[str]:
    problems: list[str] = []
    make = _make_targets()
    npm = _npm_scripts()
    for match in re.finditer(r"(?:^|\s)\.?/?(scripts/[\w-]+(?:\.py)?)", command):
        if not (ROOT / match.group(1)).is_file():
            problems.append(f"{match.group(1)}: no such script")
    for match in re.finditer(r"python3? -m ([\w.]+)", command):
        if not _module_exists(match.group(1)):
            problems.append(f"python -m {match.group(1)}: no such module")
    for match in re.finditer(r"python3? ([\w/]+\.py)", command):
        if not (ROOT / match.group(1)).is_file():
            problems.append(f"{match.group(1)}: no such file")
    for match in re.finditer(r"(?:^|\s)make ([\w-]+)", command):
        if match.group(1) not in make:
            problems.append(f"make {match.group(1)}: no such target")
    for match in re.finditer(r"npm run (?:--silent )?([\w-]+)", command):
        if match.group(1) not in npm:
            problems.append(f"npm run {match.group(1)}: no such script")
    return problems


def test_commands_named_in_docs_and_script_headers_exist() -> None:
    named = _named_commands()
    assert len(named) > 20, "the command scan found (almost) nothing: its patterns are broken"
    problems = [f"{where}: `{command}`: {p}" for where, command in named for p in _check_named(command)]
    assert not problems, "\n".join(problems)


def test_the_checker_notices_what_is_missing() -> None:
    assert _missing("$(PY) -m envoy_config.generate".replace("$(PY)", "python"), ROOT)
    assert _missing("./scripts/no-such-script", ROOT)
    assert _missing("node e2e/run-e2e.mjs", DASHBOARD)
    assert _check_named("make no-such-target && npm run no-such-script")
    assert not _missing("python envoy/generate.py --mode local --out build/envoy.yaml", ROOT)
