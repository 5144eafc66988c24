"""``swaplab evaluate ...``"""

import typer

from swaplab.cli_support import new_app
from swaplab.evaluate.backends import FR_BACKENDS

app = new_app("Face-recognition vulnerability and detector metrics.")


@app.command("backends")
def backends_command() -> None:
    """List the registered face-recognition backends."""
    typer.echo("\n".join(FR_BACKENDS.names()))
