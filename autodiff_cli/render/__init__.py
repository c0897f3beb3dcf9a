"""Presentation: each renderer is a pure function that returns a string or a rich renderable."""
