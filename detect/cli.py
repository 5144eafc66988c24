"""``swaplab detect ...``"""

import typer

from swaplab.cli_support import new_app
from swaplab.detect.registry import DETECTORS

app = new_app("Deepfake detectors: train, score, list.")


@app.command("list")
def list_command() -> None:
    """List the registered detectors."""
    names = DETECTORS.names()
    typer.echo("\n".join(names) if names else "no detectors registered yet")
