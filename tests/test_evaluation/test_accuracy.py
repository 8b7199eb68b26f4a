from mmdet.registry import METRICS
from mmengine.registry import DefaultScope

import rla_mm  # noqa: F401  (registers Top1Accuracy)


def test_top1_accuracy_in_percent_over_batches():
    # Earlier tests may leave another codebase's scope as the default.
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(dict(type='Top1Accuracy'))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process({}, [dict(pred_label=0, gt_label=0),
                        dict(pred_label=2, gt_label=1)])
    metric.process({}, [dict(pred_label=1, gt_label=1),
                        dict(pred_label=1, gt_label=1)])
    assert metric.evaluate(4) == {'accuracy/top1': 75.0}
