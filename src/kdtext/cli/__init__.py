"""The ``kdtext`` command-line tool: one Click group that plugins add commands to."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import click

from .. import __version__, _compat, plugins
from ..errors import KdtextError

#: kdtext 0.1's kdtext.cli.parse_params, now in kdtext.params: a warning, for one release.
__getattr__ = _compat.moved_names(__name__)


class KdtextGroup(click.Group):
    """A group that adds plugin commands on first use and turns kdtext errors into one line."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if KdtextGroup._plugins_added:
            return
        KdtextGroup._plugins_added = True
        try:
            from .plugin_commands import add_commands

            add_commands(self)
        except KdtextError as exc:
            if plugins.debug_enabled():
                raise
            raise click.ClickException(str(exc)) from exc

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # plugin commands are added while the arguments are parsed (``--help`` is eager), so
        # ``--debug`` must be known before: it makes plugin failures show their traceback
        debug = False
        for arg in args:
            if not arg.startswith("-"):
                break
            debug = debug or arg == "--debug"
        plugins.set_debug(debug)  # for this invocation only: the one debug flag (plugins.debug_enabled)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KdtextError as exc:
            if plugins.debug_enabled():
                raise
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            if plugins.debug_enabled():
                raise
            click.echo("\nkdtext: interrupted; finished work is kept, rerun the same command to resume", err=True)
            ctx.exit(130)


@click.group(cls=KdtextGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kdtext")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Distil a large text classifier (the teacher) into a small, fast spaCy model (the student).

    \b
    The whole recipe, with a report of baseline, teacher and distilled student:
        kdtext run --data demo -o runs/demo
    Each step on its own: augment, train-teacher, label, train-student, evaluate.
    Teachers, augmenters and students are plugins: see `kdtext plugins`.
    """


@cli.command(name="plugins")
@click.option("--all", "show_all", is_flag=True, help="Also list every loaded plugin and the hooks it implements.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(show_all: bool, as_json: bool) -> None:
    """List the installed teachers, augmenters, students and taggers.

    Built-in ones come from the distribution `kdtext`; the rest from plugins installed
    with `kdtext install`.
    """
    rows = [
        {
            "name": reg.name,
            "kind": reg.kind,
            "plugin": reg.plugin,
            "distribution": reg.distribution,
            "version": reg.version,
            "description": reg.description,
        }
        for reg in plugins.all_registrations()
    ]
    loaded = []
    if show_all:
        for name, plugin in plugins.pm.list_name_plugin():
            dist, version = plugins.plugin_origin(name)
            hooks = sorted(h.name for h in plugins.pm.get_hookcallers(plugin) or [])
            loaded.append({"plugin": name, "distribution": dist, "version": version, "hooks": hooks})
    if as_json:
        click.echo(json.dumps({"registered": rows, "plugins": loaded} if show_all else rows, indent=2))
        return
    width = max([len(r["name"]) for r in rows] + [4])
    for kind in ("teacher", "augmenter", "student", "tagger"):
        of_kind = [r for r in rows if r["kind"] == kind]
        if not of_kind:
            continue
        click.echo(click.style(f"{kind}s", bold=True))
        for r in of_kind:
            origin = "" if r["distribution"] == "kdtext" else f"  [{r['distribution']} {r['version']}]"
            click.echo(f"  {r['name']:<{width}}  {r['description']}{origin}")
    if show_all:
        click.echo(click.style("plugins", bold=True))
        for p in loaded:
            click.echo(f"  {p['plugin']} ({p['distribution']} {p['version']}): {', '.join(p['hooks'])}")


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args])
    if result.returncode:
        raise click.ClickException(f"pip {args[0]} failed (exit code {result.returncode})")


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages to the latest version.")
@click.option("-e", "--editable", is_flag=True, help="Install a local project in editable mode.")
def install(packages: tuple[str, ...], upgrade: bool, editable: bool) -> None:
    """Install plugin packages into kdtext's own Python environment (with pip).

    \b
    Examples:
        kdtext install kdtext-reverse
        kdtext install -e plugins/kdtext-reverse
    """
    args = ["install"]
    if upgrade:
        args.append("--upgrade")
    for package in packages:
        args.extend(["-e", package] if editable else [package])
    _pip(*args)


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def uninstall(packages: tuple[str, ...], yes: bool) -> None:
    """Uninstall plugin packages from kdtext's Python environment."""
    _pip("uninstall", *packages, *(["-y"] if yes else []))


def main() -> None:  # pragma: no cover - console entry point
    cli()
