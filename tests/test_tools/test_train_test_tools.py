"""tools/train.py and tools/test.py end to end on the tiny shapes dataset."""
import pickle
from pathlib import Path

import pytest

from rla_lab.utils.preflight import RLA_RELEASE_URL
from rla_lab.utils.runs import read_scalars, read_test_metrics

from .tool_helpers import (RELEASED_CHECKPOINT, TOOLS, TrainedRun, run_tool,
                           write_config)


def test_train_writes_checkpoint_and_logs(mask_rcnn_run: TrainedRun):
    assert mask_rcnn_run.checkpoint.is_file()
    steps = [r['step'] for r in read_scalars(mask_rcnn_run.work_dir)]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_test_tool_on_trained_checkpoint(mask_rcnn_run: TrainedRun,
                                         tmp_path: Path):
    """The checkpoint loads with torch.load's weights_only default; bbox and
    segm metrics, --out and --show-dir are produced."""
    work_dir = tmp_path / 'test_work_dir'
    out = tmp_path / 'predictions.pkl'
    test = [
        'python', TOOLS / 'test.py', mask_rcnn_run.config,
        mask_rcnn_run.checkpoint, '--work-dir', work_dir
    ]
    run_tool(test + ['--out', out, '--show-dir', 'painted'], cwd=tmp_path)

    metrics = read_test_metrics(work_dir)
    for name in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP',
                 'coco/segm_mAP_50'):
        assert 0 <= metrics[name] <= 1, name

    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 4
    instances = predictions[0]['pred_instances']
    assert {'bboxes', 'scores', 'labels', 'masks'} <= set(instances)
    assert len(list(work_dir.glob('*/painted/*.png'))) == 4


@pytest.mark.parametrize('model', ['mask_rcnn', 'fcn'])
def test_train_stops_early_on_missing_pretrained(shapes_root: Path,
                                                 seg_root: Path,
                                                 tmp_path: Path, model: str):
    """For a detection and a segmentation config alike."""
    config = write_config(
        tmp_path / 'needs_weights.py',
        seg_root if model == 'fcn' else shapes_root,
        model=model,
        init_cfg=dict(type='Pretrained', checkpoint=RELEASED_CHECKPOINT))
    work_dir = tmp_path / 'work_dir'
    proc = run_tool(
        ['python', TOOLS / 'train.py', config, '--work-dir', work_dir],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert str(tmp_path / RELEASED_CHECKPOINT) in proc.stderr
    assert RLA_RELEASE_URL in proc.stderr
    assert 'RLA_CHECKPOINT_DIR' in proc.stderr
    assert ('--cfg-options model.backbone.init_cfg.checkpoint=PATH'
            in proc.stderr)
    # Stopped before the runner was built: it would have made the work dir.
    assert not work_dir.exists()
