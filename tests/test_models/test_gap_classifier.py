"""GAPClassifier: logits, loss and predictions around a backbone."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope

import rla_mm  # noqa: F401  (registers the classifier and RLAResNet)

BACKBONE = dict(type='RLAResNet', depth=50, out_indices=(3, ),
                norm_eval=False, init_cfg=None)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Earlier tests may leave another codebase's scope as the default."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture(scope='module')
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            dict(type='GAPClassifier', backbone=BACKBONE, num_classes=3))


def test_logits_are_a_linear_layer_on_pooled_last_features(model):
    model.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        last = model.backbone(images)[-1]
        logits = model(images)
    assert last.shape == (2, 2048, 1, 1)
    expected = F.linear(last.mean(dim=(2, 3)), model.fc.weight, model.fc.bias)
    assert logits.shape == (2, 3)
    torch.testing.assert_close(logits, expected)


def test_loss_is_cross_entropy_and_reaches_the_backbone(model):
    model.train()
    model.zero_grad()
    images, labels = torch.randn(4, 3, 32, 32), [0, 2, 1, 2]
    losses = model(images, labels, mode='loss')
    assert set(losses) == {'loss_cls'}
    # The same batch in 'tensor' mode: train-mode BN, the same statistics.
    expected = F.cross_entropy(model(images), torch.tensor(labels))
    torch.testing.assert_close(losses['loss_cls'], expected)
    losses['loss_cls'].backward()
    for weight in (model.fc.weight, model.backbone.conv1.weight):
        assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_predictions_carry_label_and_scores(model):
    model.eval()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        logits = model(images)
        predictions = model(images, [1, 0, 2], mode='predict')
    assert [p['gt_label'] for p in predictions] == [1, 0, 2]
    assert [p['pred_label'] for p in predictions] == logits.argmax(1).tolist()
    scores = torch.stack([p['score'] for p in predictions])
    torch.testing.assert_close(scores, logits.softmax(1))


def test_bad_use_is_refused(model):
    images = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match='needs the labels'):
        model(images, mode='loss')
    with pytest.raises(ValueError, match="invalid mode 'logits'"):
        model(images, [0], mode='logits')
    with pytest.raises(ValueError, match='num_classes must be >= 2'):
        MODELS.build(dict(type='GAPClassifier', backbone=BACKBONE,
                          num_classes=1))
