"""Resuming continues training exactly where the checkpoint left it, after
a kill too; a damaged checkpoint or an unwritable work dir stops a run
before it starts."""
import shutil
from pathlib import Path
from typing import Dict

from rla_lab.utils.runs import read_scalars

from .tool_helpers import (TOOLS, TrainedRun, assert_same_weights,
                           kill_after_checkpoint, run_tool, tool_env)


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


def test_killed_training_resumes_like_straight(mask_rcnn_run: TrainedRun,
                                              tmp_path: Path):
    """Mask R-CNN samples RoIs at random (RNGStateHook restores the RNG),
    with an lr warmup (the scheduler's state is resumed too): killed with
    SIGKILL after its checkpoint at iteration 2 and restarted with
    ``--resume``, it logs the losses and ends with the weights of the
    uninterrupted run. Without the hook the resumed losses differ
    (mmengine re-seeds)."""
    straight = mask_rcnn_run.work_dir
    killed = tmp_path / 'killed'
    train = ['python', TOOLS / 'train.py', mask_rcnn_run.config,
             '--work-dir', killed, *mask_rcnn_run.options]
    kill_after_checkpoint(train, killed, 'iter_2.pth', 'iter_6.pth',
                          tool_env(), timeout=300)
    run_tool(train + ['--resume'], cwd=tmp_path)

    expected = {r['step']: r for r in read_scalars(straight)}
    got = {r['step']: r for r in read_scalars(killed)}
    for step in (3, 4, 5, 6):
        for name in ('loss', 'loss_rpn_cls', 'loss_cls', 'loss_mask', 'lr'):
            assert got[step][name] == expected[step][name], (step, name)
    assert_same_weights(straight / 'iter_6.pth', killed / 'iter_6.pth')


def test_damaged_latest_checkpoint_is_refused(seg_run: TrainedRun,
                                              tmp_path: Path):
    """A latest checkpoint cut short (a kill or a full disk while it was
    written) is refused before anything is built, naming it and the whole
    one to resume from; that fix works."""
    work_dir = tmp_path / 'work_dir'
    work_dir.mkdir()
    for name in ('iter_2.pth', 'iter_3.pth'):
        shutil.copy(seg_run.work_dir / name, work_dir / name)
    latest = work_dir / 'iter_3.pth'
    latest.write_bytes(latest.read_bytes()[:latest.stat().st_size // 2])
    (work_dir / 'last_checkpoint').write_text(str(latest))
    train = ['python', TOOLS / 'train.py', seg_run.config, '--work-dir',
             work_dir, '--resume']
    proc = run_tool(train, cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert f'{latest}, is damaged' in proc.stderr
    fix = f'--resume {work_dir / "iter_2.pth"}'
    assert fix in proc.stderr
    run_tool(train[:-1] + fix.split(), cwd=tmp_path)
    assert read_scalars(work_dir)[-1]['step'] == 3


def test_unwritable_work_dir_fails_before_training(seg_run: TrainedRun,
                                                   tmp_path: Path):
    """A work dir that cannot be made (its parent is a file: unwritable
    even for root) stops the run at once, naming the path."""
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    work_dir = blocker / 'work_dir'
    proc = run_tool(['python', TOOLS / 'train.py', seg_run.config,
                     '--work-dir', work_dir], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert f'The work dir {work_dir} cannot be written' in proc.stderr
    assert 'Traceback' not in proc.stderr


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
