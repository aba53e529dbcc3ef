"""Regenerate the real command output in README.md, or check that it is current.

    python docs/readme_blocks.py                 # rewrite README.md in place
    python docs/readme_blocks.py --check         # exit 1 and print a unified diff if a block drifted
    python docs/readme_blocks.py --subprocess    # run every line through bash with the real `crm`

Every ```console block in the README is preceded by an HTML comment (GitHub does not render it):

    <!-- readme: session=tour -->                  run the block in session "tour"
    <!-- readme: session=history env=CRM_LANG=en -->   ... with this variable for this block only
    <!-- readme: static REASON -->                 leave the block as it is (say why)

and a session may have hidden set-up commands (one a line; `#` starts a comment line), run before
its next block, whose output is not shown and which must exit 0:

    <!-- readme-setup: session=history
    CRM_TODAY=2026-02-10 crm add 东方精密 --phone 13900000009
    cp -r "$REPO/examples" .
    -->

A *session* is one fresh temporary directory, the working directory of its commands, holding its
database (CRM_DB=DIR/crm.db, CRM_CONFIG=DIR/crm.toml, which does not exist). Sessions run in the
order they appear; a session's blocks share its database and files. The environment is fixed:
ENV below, plus `env=` on the block and `VAR=value` before a command; bash gets only these, a
PATH, HOME=DIR, LANG=C.UTF-8, TZ=UTC and REPO (this repository). The exit status of the last
command is kept for a following `echo $?`.

In a block, a line starting with `$ ` is a command; the lines after it, up to the next command,
are replaced with its output (the blank lines that end them are kept, as spacing). stdout and
stderr are shown as a terminal shows them: in the order they were written (stdout unbuffered).

How a line runs. `crm ...` runs in this process (Typer's command called with stdin empty and
stdout/stderr captured, both not terminals, as in a pipe or cron; the same output as the real
command, which `--subprocess` and tests/test_readme.py check). Pipes, `;`, `&&`, `||` are split
at the top level: a `crm` pipeline runs here and its stdout is fed to the rest of the pipe in
bash (its stderr is shown first); any other pipeline (`echo "exit $?"`, `cut ... FILE`) runs in
bash, in the session directory, with `$?` set. A `crm` pipeline with `$`, globs, redirections
or a backquote runs in bash with the real `crm` (from this Python's bin directory) first on
PATH. `cd DIR` changes the session directory.

Normalisation (the only output that is not the command's own), both ways:
  * CR LF is shown as a line end, as a terminal shows it (csv files such as rejects files);
  * the session directory is shown as /tmp/demo (and /tmp/demo in a command is the session);
  * a timestamp YYYYMMDD-HHMMSS (backup and safety-copy names) is shown as 20261126-080724, and
    a command argument holding 20261126-080724 names the one file that matches with any stamp;
  * an ISO time with seconds (JSON) is shown as 2026-11-26T09:03:53+00:00, and a local time to
    the minute (history, imports, merges) as 2026-11-26 09:00.
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The fixed environment of every command (CRM_DB and CRM_CONFIG are added per session).
ENV = {
    "CRM_USER": "wang",
    "CRM_LANG": "zh",
    "CRM_TODAY": "2026-11-26",
    "NO_COLOR": "1",
    "COLUMNS": "120",
    "TERM": "dumb",
}
# Unset for every command: they change what crm or Rich print.
UNSET = ("CRM_DEBUG", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE")

DEMO_DIR = "/tmp/demo"
STAMP = "20261126-080724"
ISO_TIME = "2026-11-26T09:03:53+00:00"
_STAMP_RE = re.compile(r"(?<!\d)\d{8}-\d{6}(?!\d)")
_ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
# Times people read are local, to the minute: "#4  2026-12-06 12:47  wang  crm ..." (history),
# the Started column of `crm imports`, the time of `crm merges`; same width, so tables stay aligned
_HISTORY_RE = re.compile(r"(?<![\d-])()\d{4}-\d\d-\d\d \d\d:\d\d(?![:\d])")
HISTORY_TIME = "2026-11-26 09:00"
_MARKER_RE = re.compile(r"^<!-- readme: (.*?) -->$")
_SETUP_RE = re.compile(r"^<!-- readme-setup: (.*)$")
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_ONLY = set("$`*?[]<>{}~")


class ReadmeError(Exception):
    """The README's markers are wrong, or a set-up command failed."""


# --------------------------------------------------------------------------- parsing the README


@dataclass
class Setup:
    session: str
    commands: list[str]
    line: int


@dataclass
class Block:
    start: int  # index of the line after ```console
    end: int  # index of the closing ```
    session: str
    env: dict[str, str]
    static: bool
    line: int


def _options(text: str, line: int) -> tuple[str, dict[str, str], bool]:
    """(session, env, static) from a marker's text."""
    if re.match(r"static\b", text):
        return "", {}, True
    options: dict[str, str] = {}
    env: dict[str, str] = {}
    for token in shlex.split(text):
        key, sep, value = token.partition("=")
        if not sep or key not in ("session", "env"):
            raise ReadmeError(f"README line {line}: unknown marker option {token!r}")
        if key == "env":
            name, sep, val = value.partition("=")
            if not sep:
                raise ReadmeError(f"README line {line}: env needs VAR=VALUE, not {value!r}")
            env[name] = val
        else:
            options[key] = value
    if "session" not in options:
        raise ReadmeError(f"README line {line}: a marker needs session=NAME or static")
    return options["session"], env, False


def parse(lines: list[str]) -> list[Setup | Block]:
    """The set-ups and console blocks of the README, in order."""
    items: list[Setup | Block] = []
    marker: tuple[str, dict[str, str], bool] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _SETUP_RE.match(line):
            head, commands, start, i = m.group(1).strip(), [], i + 1, i + 1
            while i < len(lines) and lines[i].strip() != "-->":
                if lines[i].strip() and not lines[i].lstrip().startswith("#"):
                    commands.append(lines[i].strip())
                i += 1
            session, _, _ = _options(head, start)
            items.append(Setup(session, commands, start))
        elif m := _MARKER_RE.match(line):
            marker = _options(m.group(1), i + 1)
        elif line.strip() == "```console":
            start = i + 1
            i = start
            while i < len(lines) and lines[i].strip() != "```":
                i += 1
            if marker is None:
                raise ReadmeError(
                    f"README line {start}: a ```console block needs <!-- readme: session=NAME --> "
                    "or <!-- readme: static REASON --> on a line before it"
                )
            items.append(Block(start, i, *marker, start))
            marker = None
        i += 1
    return items


def commands_of(body: list[str]) -> list[tuple[str, list[str]]]:
    """(command, lines after it) for each `$ ` line of a block."""
    out: list[tuple[str, list[str]]] = []
    for line in body:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
        else:
            raise ReadmeError(f"console block line before its first '$ ' command: {line!r}")
    return out


# --------------------------------------------------------------------------- splitting a shell line


def split_line(line: str) -> list[tuple[str, list[str]]]:
    """The line's pipelines as (operator before it, [segments]); a trailing `# comment` dropped.

    Enough of the shell for a README: quotes, backslashes, `|`, `;`, `&&`, `||`.
    """
    pipelines: list[tuple[str, list[str]]] = []
    op, buf = "", ""
    segments: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            buf += c
            if c == "\\" and quote == '"' and i + 1 < len(line):
                buf += line[i + 1]
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            buf += c
        elif c == "\\" and i + 1 < len(line):
            buf += line[i : i + 2]
            i += 1
        elif c == "#" and (not buf or buf[-1].isspace()):
            break
        elif line.startswith(("&&", "||"), i) or c == ";":
            pipelines.append((op, [*segments, buf.strip()]))
            op = c if c == ";" else line[i : i + 2]
            segments, buf = [], ""
            i += len(op) - 1
        elif c == "|":
            segments.append(buf.strip())
            buf = ""
        else:
            buf += c
        i += 1
    if buf.strip() or segments:
        pipelines.append((op, [*segments, buf.strip()]))
    return [(o, s) for o, s in pipelines if any(s)]


def crm_args(segment: str) -> tuple[dict[str, str], list[str]] | None:
    """(VAR=value assignments, crm's arguments) when the segment is a plain `crm` call we can run here."""
    if any(c in _SHELL_ONLY for c in segment):
        return None
    words = shlex.split(segment)
    env: dict[str, str] = {}
    while words and _ASSIGN_RE.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or words[0] != "crm":
        return None
    return env, words[1:]


# --------------------------------------------------------------------------- running commands


class _Sink(io.BytesIO):
    """Captured bytes, also copied to ``mixed``; stays readable when the text stream over it is closed."""

    def __init__(self, mixed: _Sink | None = None) -> None:
        super().__init__()
        self.mixed = mixed

    def write(self, b: bytes) -> int:  # type: ignore[override]
        if self.mixed is not None:
            self.mixed.write(b)
        return super().write(b)

    def close(self) -> None:
        pass


@contextmanager
def _process_state(env: dict[str, str], cwd: Path) -> Iterator[tuple[_Sink, _Sink, _Sink]]:
    """os.environ, the working directory and the standard streams of a `crm` process, then back.

    Yields stdout, stderr and both as written (write-through: the order a terminal shows).
    """
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    mixed = _Sink()
    out, err = _Sink(mixed), _Sink(mixed)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    try:
        yield out, err, mixed
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def crm_in_process(args: list[str], env: dict[str, str], cwd: Path) -> tuple[str, str, str, int]:
    """Run `crm ARGS` in this process: its stdout, stderr, both as written, and exit status."""
    from typer.main import get_command

    from crmcli.cli import app

    command = get_command(app)
    with _process_state(env, cwd) as streams:
        try:
            command.main(args=args, prog_name="crm", standalone_mode=True)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        finally:
            # What the end of a `crm` process does: close the databases (crm's _release) and
            # forget the database protected from overwriting.
            from crmcli import safe_files, store

            store.dispose_all()
            safe_files._protected.clear()
        out, err, mixed = (s.getvalue().decode("utf-8") for s in streams)
    return out, err, mixed, status


@dataclass
class Session:
    name: str
    subprocess: bool
    dir: Path = field(init=False)
    cwd: Path = field(init=False)
    status: int = 0

    def __post_init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"readme-{self.name}-")).resolve()
        self.cwd = self.dir

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        return {**ENV, "CRM_DB": str(self.dir / "crm.db"), "CRM_CONFIG": str(self.dir / "crm.toml"), **extra}

    def shell_env(self, extra: dict[str, str]) -> dict[str, str]:
        bindir = str(Path(sys.executable).parent)
        crm = shutil.which("crm", path=bindir) or shutil.which("crm")
        path = os.pathsep.join(dict.fromkeys([bindir, str(Path(crm).parent) if crm else bindir, "/usr/bin", "/bin"]))
        return {
            "PATH": path, "HOME": str(self.dir), "LANG": "C.UTF-8", "TZ": "UTC", "REPO": str(ROOT),
            "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **self.env(extra),
        }  # fmt: skip

    def bash(self, script: str, extra: dict[str, str], stdin: str = "") -> tuple[str, int]:
        proc = subprocess.run(
            ["bash", "-c", f"(exit {self.status})\n{script}"],
            input=stdin.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=self.cwd, env=self.shell_env(extra), check=False,
        )  # fmt: skip
        return proc.stdout.decode("utf-8", "backslashreplace"), proc.returncode

    def resolve(self, line: str) -> str:
        """The command as it runs here: /tmp/demo is this session, a fixed stamp the real file."""
        line = line.replace(DEMO_DIR, str(self.dir))
        if STAMP not in line:
            return line
        words = []
        for word in line.split(" "):
            if STAMP in word:
                # A path in the session (/tmp/demo/... was made this session's directory above).
                pattern = word.replace(STAMP, "[0-9]" * 8 + "-" + "[0-9]" * 6)
                base = self.dir if pattern.startswith(str(self.dir) + "/") else self.cwd
                found = sorted(base.glob(pattern.removeprefix(str(self.dir) + "/")))
                if len(found) != 1:
                    raise ReadmeError(f"{word}: {len(found)} files match {pattern} in {base}")
                word = word.replace(STAMP, _STAMP_RE.findall(found[0].name)[-1])
            words.append(word)
        return " ".join(words)

    def normalise(self, text: str) -> str:
        text = text.replace("\r\n", "\n").replace(str(self.dir), DEMO_DIR)
        text = _STAMP_RE.sub(STAMP, text)
        text = _HISTORY_RE.sub(lambda m: m.group(1) + HISTORY_TIME, text)
        return _ISO_RE.sub(ISO_TIME, text)

    def run(self, line: str, extra: dict[str, str]) -> str:
        """Run one command line; its normalised output. The exit status is kept in self.status."""
        line = self.resolve(line)
        words = line.split()
        if len(words) == 2 and words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
            self.status = 0
            return ""
        if self.subprocess:
            text, self.status = self.bash(line, extra)
            return self.normalise(text)
        out: list[str] = []
        for op, segments in split_line(line):
            if (op == "&&" and self.status != 0) or (op == "||" and self.status == 0):
                continue
            call = crm_args(segments[0])
            if call is None:
                text, self.status = self.bash(" | ".join(segments), extra)
                out.append(text)
                continue
            env, args = call
            stdout, stderr, text, self.status = crm_in_process(args, self.env({**extra, **env}), self.cwd)
            if len(segments) > 1:
                # stdout goes down the pipe; stderr reaches the terminal first, while the pipe reads.
                text, self.status = self.bash(" | ".join(segments[1:]), extra, stdin=stdout)
                text = stderr + text
            out.append(text)
        return self.normalise("".join(out))

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- regenerating


def regenerate(text: str, *, subprocess: bool = False) -> str:
    """The README text with every non-static console block's output replaced by a fresh run."""
    lines = text.split("\n")
    sessions: dict[str, Session] = {}
    replacements: list[tuple[int, int, list[str]]] = []
    try:
        for item in parse(lines):
            if isinstance(item, Block) and item.static:
                continue
            name = item.session
            session = sessions.get(name) or sessions.setdefault(name, Session(name, subprocess))
            if isinstance(item, Setup):
                for command in item.commands:
                    output = session.run(command, {})
                    if session.status != 0:
                        raise ReadmeError(
                            f"README line {item.line}, set-up of session {name}: `{command}` "
                            f"exited {session.status}:\n{output}"
                        )
                continue
            body: list[str] = []
            for command, old in commands_of(lines[item.start : item.end]):
                spacing = len(old) - len(_strip_blank(old))
                new = session.run(command, item.env).rstrip("\n")
                body += [f"$ {command}", *(new.split("\n") if new else []), *[""] * spacing]
            replacements.append((item.start, item.end, body))
    finally:
        for session in sessions.values():
            session.close()
    for start, end, body in reversed(replacements):
        lines[start:end] = body
    return "\n".join(lines)


def _strip_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def diff(old: str, new: str, name: str = "README.md") -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"{name} (as committed)",
            f"{name} (regenerated)",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 and print a diff if a block drifted"
    )
    parser.add_argument("--subprocess", action="store_true", help="run every line in bash with the real crm (slower)")
    parser.add_argument("readme", nargs="?", type=Path, default=README, help="default: the repository's README.md")
    opts = parser.parse_args(argv)
    old = opts.readme.read_text(encoding="utf-8")
    try:
        new = regenerate(old, subprocess=opts.subprocess)
    except ReadmeError as exc:
        print(f"readme_blocks: {exc}", file=sys.stderr)
        return 2
    if opts.check:
        changes = diff(old, new, opts.readme.name)
        sys.stdout.write(changes)
        if changes:
            print(f"\n{opts.readme} is out of date: run python docs/readme_blocks.py", file=sys.stderr)
        return 1 if changes else 0
    if new != old:
        opts.readme.write_text(new, encoding="utf-8")
        print(f"rewrote {opts.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
