"""The installed package is the plugin.

``pip install .`` ships ``rla_mm`` alone: the README's three-line swaps run
from a folder outside the checkout with nothing of the checkout on the
path; one OpenMMLab codebase is enough for ``import rla_mm``; what needs
the checkout (its configs) says so when asked for from outside.
"""
import os.path as osp
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rla_lab.utils.runs import REPO_ROOT

# Outside the plugin: the checkout's lab, tools, configs, data.
NOT_SHIPPED = ('.git', '.venv', 'work_dirs', 'data', 'build', '*.egg-info',
               '__pycache__', 'checkpoints')

# The README's swaps (checkpoints aside: the plugin builds without them).
SWAPS = {
    'mmdet': """
        _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
        model = dict(backbone=dict(type='RLAResNet', init_cfg=None))
        """,
    'mmseg': """
        _base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py'
        custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
        model = dict(backbone=dict(type='RLAResNet', init_cfg=None))
        """,
    'mmpretrain': """
        _base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
        custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
        model = dict(backbone=dict(type='RLAResNet'))
        """,
}

# Builds each swap's model in its codebase's scope and runs it, then says
# where rla_mm came from and whether the lab is importable.
SWAP_SCRIPT = """
import importlib.util
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

for scope in sys.argv[1:]:
    cfg = Config.fromfile(f'{scope}_swap.py')
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS'])
    model = registry.MODELS.build(cfg.model).eval()
    assert type(model.backbone).__name__ == 'RLAResNet', scope
    with torch.no_grad():
        model.extract_feat(torch.rand(1, 3, 64, 64))
    print(scope, 'ran')
import rla_mm
print('rla_mm from', rla_mm.__file__)
print('rla_lab importable:', importlib.util.find_spec('rla_lab') is not None)
"""


def run_python(python: str, args, cwd, check: bool = True):
    result = subprocess.run([python, *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> Path:
    """A fresh venv with ``pip install .`` of a copy of the checkout.

    The stack (torch, mmcv, the codebases) comes from this environment's
    site-packages through a ``.pth`` line, which Python does not scan for
    ``.pth`` files: this environment's editable install of rla_mm stays out.
    """
    root = tmp_path_factory.mktemp('packaging')
    source = root / 'source'
    shutil.copytree(REPO_ROOT, source,
                    ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    venv = root / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                    str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    target = run_python(python, [
        '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'
    ], root).stdout.strip()
    Path(target, 'rla_mm_test_stack.pth').write_text(
        site.getsitepackages()[0] + '\n')
    run_python(sys.executable, [
        '-m', 'pip', 'install', '--quiet', '--no-deps',
        '--no-build-isolation', '--target', target,
        str(source)
    ], root)
    return venv


def test_pip_install_ships_the_plugin_alone(installed: Path):
    (site_packages, ) = installed.glob('lib/python*/site-packages')
    top_level = {p.name for p in site_packages.iterdir()
                 if not p.name.endswith(('.dist-info', '.pth'))}
    assert top_level == {'rla_mm'}, top_level
    shipped = {p.relative_to(site_packages / 'rla_mm').parts[0]
               for p in (site_packages / 'rla_mm').rglob('*.py')}
    assert shipped == {'__init__.py', 'registry.py', 'engine', 'models',
                       'utils'}


def test_readme_swaps_run_from_another_folder(installed: Path, tmp_path):
    for scope, text in SWAPS.items():
        (tmp_path / f'{scope}_swap.py').write_text(textwrap.dedent(text))
    (tmp_path / 'swap.py').write_text(SWAP_SCRIPT)
    result = run_python(str(installed / 'bin' / 'python'),
                        ['swap.py', *SWAPS], tmp_path)
    for scope in SWAPS:
        assert f'{scope} ran' in result.stdout
    assert f'rla_mm from {installed}' in result.stdout
    assert 'rla_lab importable: False' in result.stdout


# Blocks the codebases named on the command line as if not installed, then
# registers and builds RLAResNet in the one left.
ONE_CODEBASE_SCRIPT = """
import sys

scopes = ('mmdet', 'mmseg', 'mmpretrain')
present = sys.argv[1]
for scope in scopes:
    if scope != present:
        sys.modules[scope] = None
from mmengine.registry import init_default_scope

import rla_mm

init_default_scope(present)
registry = __import__(f'{present}.registry', fromlist=['MODELS'])
backbone = registry.MODELS.build(dict(type='RLAResNet', depth=50))
print('built', type(backbone).__name__, 'with',
      sorted(s for s in scopes if sys.modules.get(s) is not None))
"""


@pytest.mark.parametrize('present', ['mmdet', 'mmseg', 'mmpretrain'])
def test_one_codebase_is_enough(present, tmp_path):
    result = run_python(sys.executable, ['-c', ONE_CODEBASE_SCRIPT, present],
                        tmp_path)
    assert f"built RLAResNet with ['{present}']" in result.stdout


def test_no_codebase_names_what_to_install(tmp_path):
    script = ("import sys\n"
              "for s in ('mmdet', 'mmseg', 'mmpretrain'):\n"
              "    sys.modules[s] = None\n"
              "import rla_mm\n")
    result = run_python(sys.executable, ['-c', script], tmp_path,
                        check=False)
    assert result.returncode != 0
    assert 'pip install one of mmdet, mmsegmentation, mmpretrain' in (
        result.stderr)


def test_shipped_config_named_from_outside_the_checkout(tmp_path):
    """A shipped config's relative path, outside the checkout's root: the
    tool says where the file is instead of a traceback."""
    result = run_python(sys.executable, [
        osp.join(REPO_ROOT, 'tools', 'train.py'),
        'configs/faster_rcnn_rla_r50.py'
    ], tmp_path, check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert 'not of the installed package' in result.stderr
    assert osp.join(REPO_ROOT, 'configs', 'faster_rcnn_rla_r50.py') in (
        result.stderr)
