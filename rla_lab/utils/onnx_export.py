"""ONNX export of RLA-ResNet at any input size (odd ones included).

Where a stage downsamples, RLA-ResNet pools its hidden state with
``F.avg_pool2d(h, 2, 2, ceil_mode=True)``: at an odd size the last window
overhangs the input, and PyTorch averages over the elements inside it only.
torch's ONNX exporter writes ``AveragePool`` with ``count_include_pad=1``
(PyTorch's default argument), and before opset 19 ONNX (and ONNX Runtime)
counts the overhang in the divisor with that flag: the border of ``h`` came
out smaller by up to half, features off by 1e-3 (relative) at odd sizes.
With no explicit padding, ``count_include_pad=0`` is PyTorch's arithmetic in
every opset.

Not imported by ``import rla_mm``; the export tools call
:func:`register_avg_pool_symbolic` before exporting.
"""
from typing import List, Sequence, Union

import torch
from torch.onnx import symbolic_helper

# ceil_mode in AveragePool came with opset 10; the override holds from there
# up (torch looks up the highest registered opset not above the export's).
FIRST_OPSET = 10
_registered = False


def _per_dim(value: Union[int, Sequence[int]], dims: int) -> List[int]:
    values = [value] if isinstance(value, int) else list(value)
    return values * dims if len(values) == 1 else values


@symbolic_helper.parse_args('v', 'is', 'is', 'is', 'i', 'i', 'none')
def _avg_pool2d(g, input, kernel_size, stride, padding, ceil_mode,
                count_include_pad, divisor_override=None):
    kernel = _per_dim(kernel_size, 2)
    strides = _per_dim(stride, 2) if stride else kernel
    pads = _per_dim(padding, 2) * 2  # ONNX: begins of each dim, then ends
    if not any(pads):
        # Nothing padded: only an overhanging ceil_mode window could be
        # counted, and PyTorch does not count it.
        count_include_pad = 0
    return g.op('AveragePool', input, kernel_shape_i=kernel,
                strides_i=strides, pads_i=pads, ceil_mode_i=ceil_mode,
                count_include_pad_i=count_include_pad)


def register_avg_pool_symbolic() -> None:
    """Export ``aten::avg_pool2d`` as PyTorch computes it; idempotent."""
    global _registered
    if not _registered:
        torch.onnx.register_custom_op_symbolic('aten::avg_pool2d',
                                               _avg_pool2d, FIRST_OPSET)
        _registered = True



def register_mmseg_upsample_rewriter() -> None:
    """Let MMDeploy export mmseg's ``Upsample`` with dynamic sizes.

    mmseg computes a ``scale_factor`` upsampling's output size with
    ``int()`` of the input's shape, which the exporter records as
    constants: Semantic FPN's head (a 2x ``Upsample`` per level) exported
    with dynamic axes resized every input to the example's feature sizes
    (98.6% of pixels right at another size). MMDeploy 1.3.1 rewrites mmseg's
    ``UpConvBlock`` but not ``Upsample``; this rewriter, registered with
    MMDeploy's ``FUNCTION_REWRITER``, applies inside MMDeploy's export only.
    Idempotent.
    """
    from mmdeploy.core import FUNCTION_REWRITER

    @FUNCTION_REWRITER.register_rewriter(
        'mmseg.models.utils.wrappers.Upsample.forward')
    def upsample__forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size:
            return FUNCTION_REWRITER.get_context().origin_func(self, x)
        from mmseg.models.utils import resize
        scales = self.scale_factor
        if not isinstance(scales, tuple):
            scales = (scales, scales)
        # mmseg's floor(size * scale), kept in the graph (the sizes of a
        # traced tensor are tensors).
        size = [(s * f).floor().long() if isinstance(s, torch.Tensor) else
                int(s * f) for s, f in zip(x.shape[-2:], scales)]
        return resize(x, size, None, self.mode, self.align_corners)


def adaptive_avg_pool2d_by_sums(x: torch.Tensor,
                                output_size) -> torch.Tensor:
    """``F.adaptive_avg_pool2d`` from an integral image, for any input size.

    Bin ``i`` of ``o`` over ``n`` rows spans ``[floor(i n / o),
    ceil((i + 1) n / o))``, as in PyTorch; its sum is four lookups in the
    cumulative sums. Traced, the bounds stay functions of the input's size.
    """
    out_h, out_w = (output_size, output_size) if isinstance(
        output_size, int) else output_size
    sums = torch.nn.functional.pad(x.cumsum(-2).cumsum(-1), (1, 0, 1, 0))

    def bounds(n, bins: int):
        i = torch.arange(bins, device=x.device)
        start = torch.div(i * n, bins, rounding_mode='floor')
        end = torch.div((i + 1) * n + bins - 1, bins, rounding_mode='floor')
        return start, end

    top, bottom = bounds(x.shape[-2], out_h)
    left, right = bounds(x.shape[-1], out_w)
    lower, upper = sums.index_select(-2, bottom), sums.index_select(-2, top)
    total = (lower.index_select(-1, right) - upper.index_select(-1, right) -
             lower.index_select(-1, left) + upper.index_select(-1, left))
    area = (bottom - top)[:, None] * (right - left)[None, :]
    return total / area.to(x.dtype)


def register_adaptive_avg_pool_rewriter() -> None:
    """Export adaptive average pooling exactly at every input size (ONNX
    Runtime).

    ONNX has no adaptive pooling; MMDeploy 1.3.1 turns
    ``F.adaptive_avg_pool2d`` into an ``avg_pool2d`` whose kernel is the
    example's feature size over the output size: fixed in the graph, not
    PyTorch's bins when the size does not divide, and an error (kernel 0)
    where a feature map is smaller than the output (UPerNet's pyramid
    pooling, bins 1, 2, 3 and 6). Global pooling (output 1) stays as it
    was. Idempotent.
    """
    from mmdeploy.core import FUNCTION_REWRITER

    @FUNCTION_REWRITER.register_rewriter(
        'torch.nn.functional.adaptive_avg_pool2d', backend='onnxruntime')
    def adaptive_avg_pool2d__onnxruntime(input, output_size):
        sizes = (output_size, ) * 2 if isinstance(output_size,
                                                  int) else output_size
        if tuple(sizes) == (1, 1):
            return FUNCTION_REWRITER.get_context().origin_func(
                input, output_size)
        return adaptive_avg_pool2d_by_sums(input, sizes)


def register_rcnn_classwise_nms_rewriter() -> None:
    """R-CNN detections as mmdet makes them (ONNX Runtime); idempotent.

    mmdet's R-CNN (class-specific regression, as in Faster and Mask R-CNN)
    scores every (RoI, class) pair with that class's box, and its NMS is
    per class (``batched_nms``: boxes offset by class so classes never
    overlap), then keeps the ``max_per_img`` best. MMDeploy 1.3.1's rewrite
    keeps each RoI's top-scoring class's box and gives it to every class,
    since ONNX's NonMaxSuppression shares boxes across classes: detections
    of another class on the same RoI get the wrong box. This rewrite does
    mmdet's: the pairs as boxes, offset by class, through one NMS.
    """
    from mmdeploy.codebase.mmdet.deploy import get_post_processing_params
    from mmdeploy.core import FUNCTION_REWRITER
    from mmdeploy.mmcv.ops import multiclass_nms
    from mmdet.structures.bbox import get_box_tensor

    @FUNCTION_REWRITER.register_rewriter(
        'mmdet.models.roi_heads.bbox_heads.bbox_head.BBoxHead.'
        'predict_by_feat', backend='onnxruntime')
    def bbox_head__predict_by_feat__classwise(self, rois, cls_scores,
                                              bbox_preds, batch_img_metas,
                                              rcnn_test_cfg=None,
                                              rescale=False):
        ctx = FUNCTION_REWRITER.get_context()
        img_shape = batch_img_metas[0]['img_shape']
        if self.custom_cls_channels:
            scores = self.loss_cls.get_activation(cls_scores)
        else:
            scores = torch.nn.functional.softmax(cls_scores, dim=-1)
        batch, num_rois = scores.shape[:2]
        classes = self.num_classes
        scores = scores[..., :classes].reshape(batch, num_rois * classes, 1)
        boxes = get_box_tensor(self.bbox_coder.decode(
            rois[..., 1:], bbox_preds, max_shape=img_shape))
        # One box per pair (a class-agnostic head's box serves every class).
        boxes = boxes.reshape(batch, num_rois, -1, 4).expand(
            batch, num_rois, classes, 4).reshape(batch, num_rois * classes, 4)
        labels = torch.arange(classes, device=boxes.device).repeat(num_rois)
        # mmdet's batched_nms: offsets larger than any coordinate.
        step = boxes.max() + 1
        offsets = labels.to(boxes.dtype)[None, :, None] * step
        post = get_post_processing_params(ctx.cfg)
        keep = rcnn_test_cfg.get('max_per_img', post.keep_top_k)
        dets, _ = multiclass_nms(
            boxes + offsets, scores,
            max(post.max_output_boxes_per_class, keep),
            iou_threshold=rcnn_test_cfg.nms.get('iou_threshold',
                                                post.iou_threshold),
            score_threshold=rcnn_test_cfg.get('score_thr',
                                              post.score_threshold),
            pre_top_k=-1, keep_top_k=keep)
        # Each kept box's class from its offset, and the box without it.
        found = torch.div(dets[..., 0], step, rounding_mode='floor')
        found = found.clamp(0, classes - 1)
        dets = torch.cat(
            [dets[..., :4] - (found * step)[..., None], dets[..., 4:]], -1)
        return dets, found.long()


def register_rpn_levelwise_nms_rewriter() -> None:
    """RPN proposals as mmdet makes them (ONNX Runtime); idempotent.

    mmdet's RPN keeps each level's ``nms_pre`` best anchors, runs NMS per
    level (``batched_nms`` with level ids), then keeps the ``max_per_img``
    best proposals of all levels; it drops no proposal for its objectness.
    MMDeploy 1.3.1's rewrite runs one NMS across levels (a large box of one
    level suppresses a box of another) and applies the deploy config's
    ``score_threshold``. This rewrite does mmdet's: boxes offset by level,
    through one NMS.
    """
    from mmdeploy.codebase.mmdet.deploy import (gather_topk,
                                                get_post_processing_params,
                                                pad_with_value_if_necessary)
    from mmdeploy.core import FUNCTION_REWRITER
    from mmdeploy.mmcv.ops import multiclass_nms
    from mmdeploy.utils import is_dynamic_shape

    @FUNCTION_REWRITER.register_rewriter(
        'mmdet.models.dense_heads.rpn_head.RPNHead.predict_by_feat',
        backend='onnxruntime')
    def rpn_head__predict_by_feat__levelwise(self, cls_scores, bbox_preds,
                                             score_factors=None,
                                             batch_img_metas=None, cfg=None,
                                             rescale=False, with_nms=True):
        ctx = FUNCTION_REWRITER.get_context()
        cfg = self.test_cfg if cfg is None else cfg
        nms_pre = cfg.get('nms_pre', -1)
        batch = cls_scores[0].shape[0]
        priors = self.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=cls_scores[0].device)
        all_scores, all_deltas, all_priors, all_levels = [], [], [], []
        for level, (score, delta, prior) in enumerate(
                zip(cls_scores, bbox_preds, priors)):
            score = score.permute(0, 2, 3, 1)
            if self.use_sigmoid_cls:
                score = score.reshape(batch, -1, 1).sigmoid()
            else:
                score = score.reshape(batch, -1, 2).softmax(-1)[..., :1]
            delta = delta.permute(0, 2, 3, 1).reshape(
                batch, -1, self.bbox_coder.encode_size)
            prior = prior.unsqueeze(0)
            if not is_dynamic_shape(ctx.cfg):
                prior = prior.data
            if nms_pre > 0:
                # Padded with zero scores where a level has fewer anchors.
                score = pad_with_value_if_necessary(score, 1, nms_pre, 0.)
                delta = pad_with_value_if_necessary(delta, 1, nms_pre)
                prior = pad_with_value_if_necessary(prior, 1, nms_pre)
                _, top = score.squeeze(2).topk(nms_pre)
                delta, score = gather_topk(delta, score, inds=top,
                                           batch_size=batch, is_batched=True)
                prior = gather_topk(prior, inds=top, batch_size=batch,
                                    is_batched=False)
            all_scores.append(score)
            all_deltas.append(delta)
            all_priors.append(prior)
            all_levels.append(torch.full_like(score, level))
        boxes = self.bbox_coder.decode(
            torch.cat(all_priors, 1), torch.cat(all_deltas, 1),
            max_shape=batch_img_metas[0]['img_shape'])
        scores = torch.cat(all_scores, 1)
        if not with_nms:
            return boxes, scores
        levels = torch.cat(all_levels, 1)
        step = boxes.max() + 1
        post = get_post_processing_params(ctx.cfg)
        keep = cfg.get('max_per_img', post.keep_top_k)
        # Score threshold 0: every proposal competes, as in mmdet (only
        # the zero-score padding goes).
        dets, labels = multiclass_nms(
            boxes + levels * step, scores,
            max(post.max_output_boxes_per_class, keep),
            iou_threshold=cfg.nms.get('iou_threshold', post.iou_threshold),
            score_threshold=0.0, pre_top_k=-1, keep_top_k=keep)
        found = torch.div(dets[..., :1], step, rounding_mode='floor')
        # (proposals, labels), as MMDeploy's two-stage rewrite takes them.
        return torch.cat([dets[..., :4] - found * step, dets[..., 4:]],
                         -1), labels
