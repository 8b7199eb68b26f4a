# UPerNet, Semantic FPN and DeepLabV3+ to ONNX Runtime at one input size,
# 512x512 (the ADE20K configs' crop; --shape H W of tools/deploy.py sets
# another, e.g. 512 1024 for Cityscapes).
_base_ = ['./_base_/segmentation.py', './_base_/onnxruntime.py']
onnx_config = dict(input_shape=[512, 512])  # [width, height]
