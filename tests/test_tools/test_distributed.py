"""DDP keeps the replicas in sync: 2 CPU processes through
tools/dist_train.sh, with a probe beside the configs' own hook.

The shipped configs under DDP, with their own hooks only, are tested in
test_ddp_shipped.py; this adds a probe that sees every replica, which
checkpoints (rank 0's) cannot show.
"""
import json
from pathlib import Path

from .tool_helpers import TOOLS, dist_env, run_tool, write_config

WORLD_SIZE = 2


def _replica_digests(work_dir: Path) -> list:
    """What ReplicaDigestHook recorded on each rank."""
    return [
        json.loads((work_dir / f'replica_rank{r}.json').read_text())
        for r in range(WORLD_SIZE)
    ]


def _changed(digests: dict) -> list:
    """Names of the parameters and buffers that training changed."""
    return [
        name for name, digest in digests['after'].items()
        if digest != digests['before'][name]
    ]


def test_ddp_replicas_stay_in_sync(shapes_root: Path, tmp_path: Path):
    config = write_config(
        tmp_path / 'mask_rcnn_rla50_ddp.py',
        shapes_root,
        iters=3,
        checkpoint_interval=3,
        width=8,
        imports=('rla_mm', 'tests.test_tools.replica_probe'),
        # The shipped configs' hook, and the probe beside it.
        extra="custom_hooks = [dict(type='RNGStateHook'), "
        "dict(type='ReplicaDigestHook')]\n")
    work_dir = tmp_path / 'work_dir'
    gloo = ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo']
    train = [
        'bash', TOOLS / 'dist_train.sh', config,
        str(WORLD_SIZE), '--work-dir', work_dir
    ]
    run_tool(train + gloo, cwd=tmp_path, env=dist_env())

    ranks = _replica_digests(work_dir)
    # Each rank trained on its own images; DDP kept the weights identical.
    assert ranks[0]['before'] == ranks[1]['before']
    assert ranks[0]['after'] == ranks[1]['after']
    changed = _changed(ranks[0])
    assert any(name.startswith('backbone.') for name in changed)
    assert any(name.startswith('roi_head.mask_head.') for name in changed)
