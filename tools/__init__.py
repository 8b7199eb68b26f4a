"""rla_mm's command-line tools, run as scripts (``python tools/train.py``).

A package so that tests import a tool's functions as ``tools.<path>``; the
scripts themselves import only ``rla_mm`` and third-party modules, never
each other.
"""
