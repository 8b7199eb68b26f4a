"""Top-1 accuracy for :class:`rla_mm.models.GAPClassifier`."""
from typing import Dict, List, Sequence

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric


@METRICS.register_module()
class Top1Accuracy(BaseMetric):
    """The percentage of images whose top-scoring class is their label.

    Logged as ``accuracy/top1``, in percent, the key and unit of
    MMPretrain's ``Accuracy``.

    Args:
        collect_device (str): Where results are gathered across processes.
        prefix (str, optional): Key prefix (default: ``'accuracy'``).
    """
    default_prefix = 'accuracy'

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep whether each prediction of a batch is right."""
        self.results.extend(
            int(s['pred_label'] == s['gt_label']) for s in data_samples)

    def compute_metrics(self, results: List[int]) -> Dict[str, float]:
        """``dict(top1=...)`` over every image seen."""
        return dict(top1=100.0 * sum(results) / len(results))
