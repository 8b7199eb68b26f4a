"""Resuming continues training exactly where the checkpoint left it."""
from pathlib import Path

from .tool_helpers import TOOLS, read_scalars, run_tool, write_config

LOGGED = ('loss', 'loss_cls', 'loss_bbox', 'lr')


def test_resume_continues_like_straight_training(shapes_root: Path,
                                                 tmp_path: Path):
    """4 iterations straight vs. a run interrupted after 2 and resumed.

    RetinaNet draws no random numbers while training (no RoI sampling) and
    the pipeline has no random flip, so with a fixed seed the runs must
    match exactly; mmengine checkpoints do not hold the RNG states that
    Mask R-CNN's samplers would need. The lr warmup checks that the
    scheduler state is resumed too.
    """
    config = write_config(
        tmp_path / 'retinanet_rla50_tiny.py',
        shapes_root,
        model='retinanet',
        iters=4,
        checkpoint_interval=2)
    train = ['python', TOOLS / 'train.py', config, '--work-dir']
    straight = tmp_path / 'straight'
    run_tool(train + [straight], cwd=tmp_path)

    # An interrupted run: its work dir points at the iteration-2 checkpoint,
    # and `--resume` alone picks it up.
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    (resumed / 'last_checkpoint').write_text(str(straight / 'iter_2.pth'))
    run_tool(train + [resumed, '--resume'], cwd=tmp_path)

    expected = {r['step']: r for r in read_scalars(straight)}
    got = {r['step']: r for r in read_scalars(resumed)}
    assert sorted(expected) == [1, 2, 3, 4]
    assert sorted(got) == [3, 4]
    for step in (3, 4):
        for name in LOGGED:
            assert got[step][name] == expected[step][name], (step, name)
    assert (resumed / 'iter_4.pth').is_file()
