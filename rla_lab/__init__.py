"""The lab of the rla_mm checkout: what its tools, demos and paired kit
share. Not installed with the plugin (``pip install .`` ships ``rla_mm``
alone); the scripts under ``tools/`` put this checkout on ``sys.path``."""
