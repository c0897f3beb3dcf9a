"""Moved to derivatives.py (the feature is called diff and derivatives everywhere else); kept for cli.py and render."""

from .derivatives import *  # noqa: F403
