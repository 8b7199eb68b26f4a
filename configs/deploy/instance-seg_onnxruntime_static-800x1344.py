# Mask R-CNN to ONNX Runtime at one input size, 800x1344 (see
# detection_onnxruntime_static-800x1344.py).
_base_ = ['./_base_/instance_seg.py', './_base_/onnxruntime.py']
onnx_config = dict(input_shape=[1344, 800])  # [width, height]
