"""runs-tui: the pipeline runs table of an ML platform, in a terminal."""

__version__ = "0.1.0"
