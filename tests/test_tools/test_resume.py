"""Resuming continues training exactly where the checkpoint left it."""
from pathlib import Path
from typing import Tuple

from rla_mm.utils.runs import read_scalars

from .tool_helpers import TOOLS, run_tool, write_config

LOGGED = ('loss', 'loss_cls', 'loss_bbox', 'lr')


def resumed_and_straight(shapes_root: Path, tmp_path: Path, model: str,
                         extra: str = '') -> Tuple[dict, dict]:
    """Logged scalars of 4 iterations straight and of 2 + 2 resumed."""
    config = write_config(
        tmp_path / f'{model}_rla50_tiny.py',
        shapes_root,
        model=model,
        iters=4,
        checkpoint_interval=2,
        extra=extra)
    train = ['python', TOOLS / 'train.py', config, '--work-dir']
    straight = tmp_path / 'straight'
    run_tool(train + [straight], cwd=tmp_path)

    # An interrupted run: its work dir points at the iteration-2 checkpoint,
    # and `--resume` alone picks it up.
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    (resumed / 'last_checkpoint').write_text(str(straight / 'iter_2.pth'))
    run_tool(train + [resumed, '--resume'], cwd=tmp_path)

    assert (resumed / 'iter_4.pth').is_file()
    expected = {r['step']: r for r in read_scalars(straight)}
    got = {r['step']: r for r in read_scalars(resumed)}
    assert sorted(expected) == [1, 2, 3, 4]
    assert sorted(got) == [3, 4]
    return expected, got


def test_resume_continues_like_straight_training(shapes_root: Path,
                                                 tmp_path: Path):
    """4 iterations straight vs. a run interrupted after 2 and resumed.

    RetinaNet draws no random numbers while training (no RoI sampling) and
    the pipeline has no random flip, so with a fixed seed the runs must
    match exactly. The lr warmup checks that the scheduler state is resumed
    too.
    """
    expected, got = resumed_and_straight(shapes_root, tmp_path, 'retinanet')
    for step in (3, 4):
        for name in LOGGED:
            assert got[step][name] == expected[step][name], (step, name)


def test_rng_state_hook_makes_sampling_models_resume_exactly(
        shapes_root: Path, tmp_path: Path):
    """Mask R-CNN samples RoIs at random: RNGStateHook restores the RNG.

    Without the hook the resumed losses differ (mmengine re-seeds).
    """
    expected, got = resumed_and_straight(
        shapes_root, tmp_path, 'mask_rcnn',
        extra="custom_hooks = [dict(type='RNGStateHook')]\n")
    for step in (3, 4):
        for name in ('loss', 'loss_rpn_cls', 'loss_cls', 'loss_mask', 'lr'):
            assert got[step][name] == expected[step][name], (step, name)
