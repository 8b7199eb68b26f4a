# UPerNet, Semantic FPN and DeepLabV3+ to ONNX Runtime: any batch, height
# and width; the label map has the input's height and width.
_base_ = ['./_base_/segmentation.py', './_base_/onnxruntime.py']
onnx_config = dict(
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        output=dict({0: 'batch', 2: 'height', 3: 'width'})))
