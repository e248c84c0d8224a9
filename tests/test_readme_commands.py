"""Every `python -m tfvisrec…` command line in the docs (*.md) and in the command lines' help
texts (module docstrings) parses with that command line's own parser.

Placeholders are read as a user fills them in: `[optional parts]` are included, `...` is
dropped, an all-capitals word (D, DIR, N, CKPT, U) becomes "1"; a line with a `<placeholder>`
is a synopsis and is skipped; a bare `python -m module` (a mention) must take `--help`.
absl command lines are parsed by importing the module and calling its FLAGS on the argv (one
subprocess per module, all at once: the flags of different modules may clash); argparse ones
(the client) by their parser, in this process. Parsing needs no data, so a flag that does not
exist, a bad value, a stray argument or a missing flagfile fails here; `main` never runs.
"""
import ast
import contextlib
import glob
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from typing import Dict, List, Tuple

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COMMAND = re.compile(r"python -m (tfvisrec(?:\.\w+)*)")
_STOP = re.compile(r"[`→()#|;&]")  # ends a command inside prose, a table or a shell line
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_HELP = {"--help", "-h", "--helpfull", "--helpshort"}
# python -m tfvisrec.data <command>: a command name, then (info only) the dataset folder
_DATA_ARGUMENTS = {"info": 1}


def _sources() -> List[Tuple[str, str]]:
    """(where, text): the Markdown files and the module docstrings of the package."""
    out = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "**", "*.md"), recursive=True)):
        if "/.git/" not in path:
            with open(path, encoding="utf-8") as f:
                out.append((os.path.relpath(path, REPO_ROOT), f.read()))
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "tfvisrec", "**", "*.py"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            doc = ast.get_docstring(ast.parse(f.read()))
        if doc:
            out.append((os.path.relpath(path, REPO_ROOT) + " (docstring)", doc))
    return out


def _argv(rest: str):
    """The argv after `python -m module`, placeholders filled; None for a synopsis."""
    rest = _STOP.split(rest, 1)[0]
    if "<" in rest:
        return None
    argv = []
    for token in shlex.split(rest):
        token = token.strip("[]")
        if token in ("", "...", "…"):
            continue
        flag, equals, value = token.partition("=")
        if _PLACEHOLDER.match(token):
            token = "1"
        elif flag.startswith("--") and equals and _PLACEHOLDER.match(value):
            token = flag + "=1"
        argv.append(token)
    return argv or ["--help"]  # a bare `python -m module` names it: its --help must work


def extract_commands() -> List[Tuple[str, str, List[str]]]:
    """[(where, module, argv)] of every command line in the docs and help texts."""
    commands = []
    for where, text in _sources():
        text = text.replace("\\\n", " ")  # shell line continuations
        for number, line in enumerate(text.splitlines(), 1):
            for match in _COMMAND.finditer(line):
                argv = _argv(line[match.end():])
                if argv is not None:
                    commands.append((f"{where}:{number}", match.group(1), argv))
    return commands


def _absl_target(module: str, argv: List[str]) -> Tuple[str, List[str]]:
    """`python -m tfvisrec.data synthetic …` hands over to the synthetic world's own flags."""
    if module == "tfvisrec.data" and argv[:1] == ["synthetic"]:
        return "tfvisrec.data.synthetic", argv[1:]
    return module, argv


def _is_argparse(module: str) -> bool:
    return module == "tfvisrec.client"


# ---- the subprocess: one absl module, many argvs ------------------------------------------

def parse_absl(module: str, argvs: List[List[str]]) -> List[str]:
    """Import `module` (its __main__ for a package) and parse each argv; "" or the error."""
    import importlib
    import importlib.util
    from absl import flags
    name = module + ".__main__" if importlib.util.find_spec(module).submodule_search_locations \
        else module
    loaded = importlib.import_module(name)
    if hasattr(loaded, "define_flags"):
        loaded.define_flags()
    errors = []
    for argv in argvs:
        flags.FLAGS.unparse_flags()
        try:
            positionals = flags.FLAGS([module] + [a for a in argv if a not in _HELP])[1:]
            errors.append("" if set(argv) & _HELP else _positional_error(module, positionals))
        except flags.Error as e:
            errors.append(f"{type(e).__name__}: {e}")
    flags.FLAGS.unparse_flags()
    return errors


def _positional_error(module: str, positionals: List[str]) -> str:
    if module != "tfvisrec.data":
        return f"unexpected arguments {positionals}" if positionals else ""
    from tfvisrec.data.__main__ import COMMANDS
    if not positionals or positionals[0] not in COMMANDS:
        return f"expected a command of python -m tfvisrec.data, got {positionals}"
    if len(positionals) - 1 > _DATA_ARGUMENTS.get(positionals[0], 0):
        return f"unexpected arguments {positionals[1:]}"
    return ""


def _start_absl(module: str, argvs: List[List[str]]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    return subprocess.Popen([sys.executable, __file__, module, json.dumps(argvs)], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _absl_errors(module: str, process: subprocess.Popen) -> List[str]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, f"{module}: {err[-2000:]}"
    return json.loads(out.splitlines()[-1])


# ---- the test -----------------------------------------------------------------------------

def test_docs_name_commands():
    commands = extract_commands()
    modules = {module for _, module, _ in commands}
    assert {"tfvisrec.train", "tfvisrec.client", "tfvisrec.data"} <= modules, modules
    readme = [c for c in commands if c[0].startswith("README.md:")]
    assert ["recommend", "--target", "localhost:8500", "--model", "bprmf", "--user", "1",
            "--k", "10"] in [argv for _, module, argv in readme if module == "tfvisrec.client"]


def test_every_documented_command_line_parses():
    by_module: Dict[str, List[Tuple[str, List[str]]]] = defaultdict(list)
    failures = []
    for where, module, argv in extract_commands():
        if _is_argparse(module):
            failures += _argparse_failures(where, argv)
        else:
            target, target_argv = _absl_target(module, argv)
            by_module[target].append((where, target_argv))
    running = {module: _start_absl(module, [argv for _, argv in entries])
               for module, entries in by_module.items()}
    try:
        for module, process in running.items():
            for (where, argv), error in zip(by_module[module], _absl_errors(module, process)):
                if error:
                    failures.append(f"{where}: python -m {module} {shlex.join(argv)}\n    {error}")
    finally:
        for process in running.values():
            process.kill()
            process.wait()
    assert not failures, "\n".join(failures)


def _argparse_failures(where: str, argv: List[str]) -> List[str]:
    from tfvisrec.client.cli import build_parser
    errors = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            build_parser().parse_args(argv)
    except SystemExit as e:
        if e.code != 0 or not set(argv) & _HELP:
            return [f"{where}: python -m tfvisrec.client {shlex.join(argv)}\n    "
                    f"{errors.getvalue().strip().splitlines()[-1:]}"]
    return []


def test_a_flag_that_does_not_exist_fails():
    argvs = [["--model_dir", "1"], ["--no_such_flag", "1"], ["--trials", "many"], ["extra"]]
    errors = _absl_errors("tfvisrec.evaluate", _start_absl("tfvisrec.evaluate", argvs))
    assert errors[0] == "" and "no_such_flag" in errors[1] and "trials" in errors[2]
    assert errors[3] == "unexpected arguments ['extra']"
    assert _argparse_failures("x", ["recommend", "--user", "1", "--no_such_flag"])
    assert not _argparse_failures("x", ["recommend", "--help"])


if __name__ == "__main__":
    print(json.dumps(parse_absl(sys.argv[1], json.loads(sys.argv[2]))))
