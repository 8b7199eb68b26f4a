# Faster R-CNN and RetinaNet to ONNX Runtime at one input size, 800x1344
# (COCO's 1333x800 scale padded to a multiple of 32): images are resized to
# it without keeping their aspect ratio.
_base_ = ['./_base_/detection.py', './_base_/onnxruntime.py']
onnx_config = dict(input_shape=[1344, 800])  # [width, height]
