"""``python -m autodiff_cli`` is the ``autodiff`` command."""

from .cli import main

# Guarded: process pools that spawn (Dask's workers) import this module again in every child.
if __name__ == "__main__":
    main(prog_name="autodiff")
