"""The typer app class of every asrkit command line (the top app and the `asrkit tts` sub-app).

An AsrkitError raised by any command becomes one line on stderr, `asrkit <command>: <message>`, and exit status 1;
this is the only place that catches it. Other exceptions are bugs and keep their traceback.
"""

import typer
from typer.core import TyperGroup

from asrkit.errors import AsrkitError


class AsrkitGroup(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AsrkitError as error:
            typer.echo(f"{ctx.command_path} {ctx.invoked_subcommand}: {error}", err=True)
            raise typer.Exit(1) from None


def make_app(help: str) -> typer.Typer:
    """A typer app whose commands report AsrkitError in one line."""
    return typer.Typer(cls=AsrkitGroup, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)
