"""DDP through tools/dist_train.sh and tools/dist_test.sh: 2 CPU processes.

Runs with mmengine's default ``find_unused_parameters=False``, under which
DDP fails in the second iteration if any parameter that requires grad got
none in the first: for a detector, and for a dilated segmentor.
"""
import json
import socket
from pathlib import Path

from rla_mm.utils.runs import latest_run_dir, metrics_file, read_json_lines

from .tool_helpers import TOOLS, run_tool, tool_env, write_config

WORLD_SIZE = 2


def _dist_env() -> dict:
    """The tools' environment with a free port for torchrun."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return tool_env(PORT=str(port))


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
        imports=('rla_mm', 'tests.test_tools.replica_probe'),
        extra="custom_hooks = [dict(type='ReplicaDigestHook')]\n")
    work_dir = tmp_path / 'work_dir'
    gloo = ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo']
    train = [
        'bash', TOOLS / 'dist_train.sh', config,
        str(WORLD_SIZE), '--work-dir', work_dir
    ]
    run_tool(train + gloo, cwd=tmp_path, env=_dist_env())

    ranks = _replica_digests(work_dir)
    # Each rank trained on its own images; DDP kept the weights identical.
    assert ranks[0]['before'] == ranks[1]['before']
    assert ranks[0]['after'] == ranks[1]['after']
    changed = _changed(ranks[0])
    assert any(name.startswith('backbone.') for name in changed)
    assert any(name.startswith('roi_head.mask_head.') for name in changed)

    # Distributed testing of the checkpoint rank 0 saved.
    test_dir = tmp_path / 'test_work_dir'
    test = [
        'bash', TOOLS / 'dist_test.sh', config, work_dir / 'iter_3.pth',
        str(WORLD_SIZE), '--work-dir', test_dir
    ]
    run_tool(test + gloo, cwd=tmp_path, env=_dist_env())
    # One process wrote the metrics: one JSON record.
    records = read_json_lines(metrics_file(latest_run_dir(test_dir)))
    assert len(records) == 1
    metrics = records[0]
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    assert 0 <= metrics['coco/segm_mAP'] <= 1


def test_ddp_dilated_upernet(seg_root: Path, tmp_path: Path):
    """mmseg's output-stride-8 layout (strides (1, 2, 1, 1), dilations
    (1, 1, 2, 4)) under UPerNet with an auxiliary head: every parameter gets
    a gradient in each iteration, and the replicas stay in sync.

    Two images per process: BN in the 1x1 pooling branch of UPerNet needs
    more than one value per channel.
    """
    config = write_config(
        tmp_path / 'upernet_rla50_d8_ddp.py',
        seg_root,
        model='upernet_d8',
        batch_size=2,
        imports=('rla_mm', 'tests.test_tools.replica_probe'),
        extra="custom_hooks = [dict(type='ReplicaDigestHook')]\n"
        'find_unused_parameters = False\n')
    work_dir = tmp_path / 'work_dir'
    run_tool([
        'bash', TOOLS / 'dist_train.sh', config,
        str(WORLD_SIZE), '--work-dir', work_dir, '--cfg-options',
        'env_cfg.dist_cfg.backend=gloo'
    ], cwd=tmp_path, env=_dist_env())

    ranks = _replica_digests(work_dir)
    assert ranks[0]['before'] == ranks[1]['before']
    # BN (not SyncBN) keeps running statistics of each rank's own images;
    # DDP keeps the parameters identical.
    statistics = ('.running_mean', '.running_var')
    after = [{
        name: digest
        for name, digest in rank['after'].items()
        if not name.endswith(statistics)
    } for rank in ranks]
    assert after[0] == after[1]
    changed = _changed(ranks[0])
    for module in ('backbone.', 'decode_head.', 'auxiliary_head.'):
        assert any(name.startswith(module) for name in changed), module
