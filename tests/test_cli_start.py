"""Fast start (issue 13): `--help` imports no command module, a command imports only its own,
and the table `--help` is printed from says what the modules register."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from capa_monitor import cli


@pytest.mark.parametrize("module", cli.COMMAND_MODULES)
def test_the_command_table_names_what_each_module_registers(module):
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    registered = {action.dest: action.help for action in subparsers._choices_actions}
    listed = {name: text for name, (owner, text) in cli.COMMANDS.items() if owner == module}
    assert registered == listed


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys\nfrom capa_monitor.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


def test_help_imports_no_command_module_nor_pandas():
    loaded = _modules_after("--help")
    assert not {name for name in loaded if name.startswith("capa_monitor.cli.")}
    assert "pandas" not in loaded


def test_a_command_imports_its_own_module_and_not_the_others():
    loaded = _modules_after("--db", "sqlite://", "audit", "--help")
    assert "capa_monitor.cli.store_cmds" in loaded  # (it shares the load options of inspect)
    assert not {"capa_monitor.cli.review_cmds", "capa_monitor.cli.pack_cmd",
                "capa_monitor.cli.access_cmd", "capa_monitor.pack"} & loaded


def test_the_review_pages_leave_the_pack_makers_unloaded_until_a_pack_is_made():
    """The review page imports the looking-ahead page's helpers; matplotlib and reportlab
    (the PDF pack's) would add 0.6 s to a server's first render."""
    code = ("import sys\nimport capa_monitor.views.ahead\n"
            "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = set(done.stdout.split())
    assert "capa_monitor.views.ahead" in loaded
    assert not {"matplotlib", "reportlab", "capa_monitor.pack"} & loaded


def test_a_review_leaves_the_loader_unloaded(tmp_path):
    """`review` reads the store only: the loader (header inference, vocabularies, the
    sandboxed reader) and the job-plan file reader cost its start 70–90 ms."""
    loaded = _modules_after("--db", f"sqlite:///{tmp_path / 'empty.sqlite'}", "review")
    assert "capa_monitor.cli.review_cmds" in loaded
    assert "capa_monitor.plan_targets" in loaded
    assert not {"capa_monitor.loading", "capa_monitor.jobplans"} & loaded
