"""Every shipped config family trains and tests under DDP as users run it.

``tools/dist_train.sh`` and ``tools/dist_test.sh`` with 2 CPU processes
(gloo) run the repository's config files with their own hooks
(``RNGStateHook`` included); ``--cfg-options`` only shrink them
(:mod:`.shipped`). A hang fails the test after ``TIMEOUT`` seconds, naming
the last stage the run logged.
"""
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest
import torch

from rla_lab.utils.runs import (latest_run_dir, metrics_file, read_json_lines,
                                read_scalars)
from rla_mm.engine.hooks import CHECKPOINT_KEY

from .shipped import DATASETS, FIXED_SEED, SHIPPED, Shipped, options_for
from .tool_helpers import (REPO_ROOT, TOOLS, assert_same_weights, dist_env,
                           kill_after_checkpoint, run_tool)

WORLD_SIZE = 2
TIMEOUT = 240
GLOO = 'env_cfg.dist_cfg.backend=gloo'


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory: pytest.TempPathFactory
              ) -> Callable[[Optional[str]], Optional[Path]]:
    """The root of a tiny dataset of each kind, written once when first
    asked for."""
    roots: Dict[str, Path] = {}

    def root(kind: Optional[str]) -> Optional[Path]:
        if kind is None:
            return None
        if kind not in roots:
            roots[kind] = DATASETS[kind].write(tmp_path_factory.mktemp(kind))
        return roots[kind]

    return root


def dist_train_args(shipped: Shipped, data_root: Optional[Path],
                    work_dir: Path, *options: str) -> List:
    """``dist_train.sh`` of the shipped config, shrunk, and ``options``."""
    return [
        'bash', TOOLS / 'dist_train.sh', REPO_ROOT / shipped.config,
        str(WORLD_SIZE), '--work-dir', work_dir, '--cfg-options',
        *options_for(shipped, data_root), GLOO, *options
    ]


def dist_train(shipped: Shipped, data_root: Optional[Path], work_dir: Path,
               *options: str) -> None:
    run_tool(dist_train_args(shipped, data_root, work_dir, *options),
             cwd=work_dir.parent, env=dist_env(), timeout=TIMEOUT)


def checkpoints(work_dir: Path) -> List[str]:
    return sorted(p.name for p in work_dir.glob('*.pth'))


@pytest.fixture(scope='session')
def ddp_trained(tiny_data, tmp_path_factory: pytest.TempPathFactory
                ) -> Callable[[str], Path]:
    """The work dir of a family's shrunk DDP training, run once."""
    work_dirs: Dict[str, Path] = {}

    def trained(family: str) -> Path:
        if family not in work_dirs:
            shipped = SHIPPED[family]
            work_dir = tmp_path_factory.mktemp(f'ddp_{family}') / 'train'
            dist_train(shipped, tiny_data(shipped.dataset), work_dir)
            work_dirs[family] = work_dir
        return work_dirs[family]

    return trained


@pytest.mark.parametrize('family', list(SHIPPED))
def test_shipped_config_under_ddp(family: str, tiny_data, ddp_trained,
                                  tmp_path: Path):
    shipped = SHIPPED[family]
    data_root = tiny_data(shipped.dataset)
    work_dir = ddp_trained(family)

    # Every checkpoint was saved (the first one used to hang), with the RNG
    # states of both processes where the config keeps them.
    saved = checkpoints(work_dir)
    assert saved[-1] in ('epoch_2.pth', 'epoch_4.pth', 'iter_4.pth'), saved
    last = torch.load(work_dir / saved[-1], map_location='cpu',
                      weights_only=True)
    dumped = (work_dir / Path(shipped.config).name).read_text()
    if 'RNGStateHook' in dumped:
        assert len(last[CHECKPOINT_KEY]) == WORLD_SIZE

    test_dir = tmp_path / 'test'
    run_tool([
        'bash', TOOLS / 'dist_test.sh', REPO_ROOT / shipped.config,
        work_dir / saved[-1],
        str(WORLD_SIZE), '--work-dir', test_dir, '--cfg-options',
        *options_for(shipped, data_root), GLOO
    ], cwd=tmp_path, env=dist_env(), timeout=TIMEOUT)
    # One process wrote the metrics (MainProcessLoggerHook): one record.
    records = read_json_lines(metrics_file(latest_run_dir(test_dir)))
    assert len(records) == 1 and shipped.metric in records[0], records


def _losses(work_dir: Path) -> Dict[int, float]:
    """The logged training loss by iteration (validation records have
    none)."""
    return {
        r['step']: r['loss']
        for r in read_scalars(work_dir) if 'loss' in r
    }


def test_ddp_resume_at_another_world_size_warns(tiny_data, ddp_trained,
                                                tmp_path: Path):
    """The classification demo's checkpoint of 2 processes resumed by 1:
    the RNG states cannot be handed out, which the log says, and training
    goes on."""
    shipped = SHIPPED['demo_cls']
    work_dir = tmp_path / 'train'
    shutil.copytree(ddp_trained('demo_cls'), work_dir)
    proc = run_tool([
        'python', TOOLS / 'train.py', REPO_ROOT / shipped.config,
        '--work-dir', work_dir, '--resume', '--cfg-options',
        *options_for(shipped, tiny_data(shipped.dataset)),
        'train_cfg.max_iters=6'
    ], cwd=tmp_path, timeout=TIMEOUT)
    assert 'RNG states were saved by 2 processes but 1 resume' in (
        proc.stdout + proc.stderr)
    assert checkpoints(work_dir) == ['iter_6.pth']


def test_ddp_killed_and_resumed_ends_like_straight(tiny_data, ddp_trained,
                                                    tmp_path: Path):
    """Mask R-CNN (random RoI sampling, validation after each epoch) killed
    with SIGKILL after its first checkpoint and resumed with ``--resume``
    ends with the losses and weights of the uninterrupted run.

    The first two start alike (a fixed seed); the resume runs the shipped
    config's own randomness (no seed: mmengine takes the checkpoint's).
    """
    shipped = SHIPPED['mask_rcnn']
    straight = ddp_trained('mask_rcnn')
    work_dir = tmp_path / 'killed'
    args = dist_train_args(shipped, tiny_data(shipped.dataset), work_dir)
    kill_after_checkpoint(args, work_dir, 'epoch_1.pth', 'epoch_4.pth',
                          dist_env(), TIMEOUT)
    resume = [a for a in args if a != FIXED_SEED] + ['--resume']
    run_tool(resume, cwd=tmp_path, env=dist_env(), timeout=TIMEOUT)

    expected, got = _losses(straight), _losses(work_dir)
    assert sorted(expected) == list(range(1, 9))
    for step in range(3, 9):
        assert got[step] == expected[step], step
    assert_same_weights(straight / 'epoch_4.pth', work_dir / 'epoch_4.pth')
