# Faster R-CNN, ResNet-101 baseline: mmdet's COCO 1x recipe, unchanged. The
# RLA configs inherit this file and swap only the backbone.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
# Keep every rank's RNG state in checkpoints: a resumed run then draws the
# same random numbers (RoI sampling, flips) as an uninterrupted one.
custom_hooks = [dict(type='RNGStateHook')]
