"""Import of the paper kit's modules, which live in tools/paper/."""
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

KIT_DIR = Path(__file__).resolve().parents[2] / 'tools' / 'paper'


def import_kit_module(name: str) -> ModuleType:
    """``tools/paper/<name>.py``, importing its siblings as the script does.
    """
    if str(KIT_DIR) not in sys.path:
        sys.path.insert(0, str(KIT_DIR))
    return importlib.import_module(name)


@pytest.fixture(scope='session')
def run_pairs() -> ModuleType:
    return import_kit_module('run_pairs')


@pytest.fixture(scope='session')
def pair_report() -> ModuleType:
    return import_kit_module('pair_report')


@pytest.fixture(scope='session')
def paper_results() -> ModuleType:
    return import_kit_module('paper_results')
