"""Resuming continues training exactly where the checkpoint left it."""
from pathlib import Path
from typing import Dict, Tuple

from rla_mm.utils.runs import read_scalars

from .tool_helpers import TOOLS, TrainedRun, run_tool, write_config

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
    straight = tmp_path / 'straight'
    run_tool(['python', TOOLS / 'train.py', config, '--work-dir', straight],
             cwd=tmp_path)
    expected = {r['step']: r for r in read_scalars(straight)}
    got = resume(config, straight / 'iter_2.pth', tmp_path / 'resumed')
    assert (tmp_path / 'resumed' / 'iter_4.pth').is_file()
    assert sorted(expected) == [1, 2, 3, 4]
    assert sorted(got) == [3, 4]
    return expected, got


def resume(config: Path, checkpoint: Path, work_dir: Path) -> Dict[int, dict]:
    """Resume training from ``checkpoint`` as an interrupted run in
    ``work_dir`` would: its ``last_checkpoint`` points there, and
    ``--resume`` alone picks it up. Returns the logged scalars by step."""
    work_dir.mkdir()
    (work_dir / 'last_checkpoint').write_text(str(checkpoint))
    run_tool([
        'python', TOOLS / 'train.py', config, '--work-dir', work_dir,
        '--resume'
    ], cwd=work_dir.parent)
    return {r['step']: r for r in read_scalars(work_dir)}


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


def test_resume_segmentation(seg_run: TrainedRun, tmp_path: Path):
    """An mmseg config resumes as a detection one: 3 iterations straight
    (the fixture) vs. resumed after 2. Nothing draws random numbers in the
    tiny FCN, so the third iteration must match exactly."""
    expected = {r['step']: r for r in read_scalars(seg_run.work_dir)}
    got = resume(seg_run.config, seg_run.work_dir / 'iter_2.pth',
                 tmp_path / 'resumed')
    assert sorted(expected) == [1, 2, 3]
    assert sorted(got) == [3]
    for name in ('loss', 'decode.loss_ce', 'lr'):
        assert got[3][name] == expected[3][name], name
