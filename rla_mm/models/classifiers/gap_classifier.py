"""A backbone, global average pooling and a linear layer: the ImageNet
classifier the paper trains RLA-ResNet in, for the shapes demo."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModel
from torch import Tensor


@MODELS.register_module()
class GAPClassifier(BaseModel):
    """Classify images from the pooled last feature map of a backbone.

    The head is ResNet's own: global average pooling of the backbone's last
    output, then one linear layer, trained with cross-entropy. MMPretrain's
    ``ImageClassifier`` is the full-featured version; this one keeps the
    shapes demo within mmdet, mmengine and torch.

    Args:
        backbone (dict): Config of the backbone; its last output is used,
            e.g. ``dict(type='RLAResNet', depth=50, out_indices=(3, ))``.
        num_classes (int): Number of classes, >= 2.
        in_channels (int): Channels of the backbone's last output (2048 for
            a ResNet-50).
        data_preprocessor (dict, optional): Config of the data preprocessor,
            e.g. an ``ImgDataPreprocessor`` with the normalisation.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 num_classes: int,
                 in_channels: int = 2048,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}.')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.fc = nn.Linear(in_channels, num_classes)

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """(N, 3, H, W) images -> (N, in_channels) pooled features."""
        return self.backbone(inputs)[-1].mean(dim=(2, 3))

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[Sequence[int]] = None,
                mode: str = 'tensor') -> Union[Tensor, Dict[str, Tensor],
                                               List[dict]]:
        """Logits, the loss, or predictions, as mmengine's loops ask.

        Args:
            inputs (Tensor): (N, 3, H, W) normalised images.
            data_samples (Sequence[int], optional): The N class labels;
                needed for ``'loss'`` and ``'predict'``.
            mode (str): ``'tensor'`` for the (N, num_classes) logits,
                ``'loss'`` for ``dict(loss_cls=...)``, ``'predict'`` for one
                ``dict(pred_label, gt_label, score)`` per image.
        """
        logits = self.fc(self.extract_feat(inputs))
        if mode == 'tensor':
            return logits
        if data_samples is None:
            raise ValueError(f'mode={mode!r} needs the labels as '
                             'data_samples.')
        labels = torch.as_tensor(
            data_samples, dtype=torch.long, device=logits.device)
        if mode == 'loss':
            return dict(loss_cls=F.cross_entropy(logits, labels))
        if mode == 'predict':
            scores = logits.softmax(dim=1)
            return [
                dict(pred_label=int(p), gt_label=int(g), score=s)
                for p, g, s in zip(scores.argmax(dim=1), labels, scores)
            ]
        raise ValueError(f"invalid mode {mode!r}; use 'tensor', 'loss' or "
                         "'predict'.")
