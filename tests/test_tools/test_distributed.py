"""DDP through tools/dist_train.sh and tools/dist_test.sh: 2 CPU processes.

Runs with mmengine's default ``find_unused_parameters=False``, under which
DDP fails in the second iteration if any parameter that requires grad got
none in the first.
"""
import json
import socket
from pathlib import Path

from rla_mm.utils.runs import read_test_metrics

from .tool_helpers import TOOLS, run_tool, tool_env, write_config

WORLD_SIZE = 2


def _dist_env() -> dict:
    """The tools' environment with a free port for torchrun."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return tool_env(PORT=str(port))


def test_ddp_replicas_stay_in_sync(shapes_root: Path, tmp_path: Path):
    config = write_config(
        tmp_path / 'mask_rcnn_rla50_ddp.py',
        shapes_root,
        iters=3,
        checkpoint_interval=3,
        imports=('rla_mm', 'tests.test_tools.replica_probe'),
        extra="custom_hooks = [dict(type='ReplicaDigestHook')]\n")
    work_dir = tmp_path / 'work_dir'
    gloo = ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo']
    train = [
        'bash', TOOLS / 'dist_train.sh', config,
        str(WORLD_SIZE), '--work-dir', work_dir
    ]
    run_tool(train + gloo, cwd=tmp_path, env=_dist_env())

    ranks = [
        json.loads((work_dir / f'replica_rank{r}.json').read_text())
        for r in range(WORLD_SIZE)
    ]
    # Each rank trained on its own images; DDP kept the weights identical.
    assert ranks[0]['before'] == ranks[1]['before']
    assert ranks[0]['after'] == ranks[1]['after']
    changed = [
        name for name, digest in ranks[0]['after'].items()
        if digest != ranks[0]['before'][name]
    ]
    assert any(name.startswith('backbone.') for name in changed)
    assert any(name.startswith('roi_head.mask_head.') for name in changed)

    # Distributed testing of the checkpoint rank 0 saved.
    test_dir = tmp_path / 'test_work_dir'
    test = [
        'bash', TOOLS / 'dist_test.sh', config, work_dir / 'iter_3.pth',
        str(WORLD_SIZE), '--work-dir', test_dir
    ]
    run_tool(test + gloo, cwd=tmp_path, env=_dist_env())
    metrics = read_test_metrics(test_dir)
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    assert 0 <= metrics['coco/segm_mAP'] <= 1
