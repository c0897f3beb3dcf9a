"""``python -m autodiff_cli`` is the ``autodiff`` command."""

from .cli import main

main(prog_name="autodiff")
