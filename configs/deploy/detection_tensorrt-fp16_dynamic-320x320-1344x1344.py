# Faster R-CNN and RetinaNet to TensorRT in fp16, on an NVIDIA GPU: batch 1,
# any height and width from 320 to 1344 (the engine is tuned for 800x1344).
_base_ = ['./_base_/detection.py', './_base_/tensorrt_fp16.py']
onnx_config = dict(
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        dets=dict({0: 'batch', 1: 'num_dets'}),
        labels=dict({0: 'batch', 1: 'num_dets'})))
backend_config = dict(model_inputs=[
    dict(input_shapes=dict(input=dict(
        min_shape=[1, 3, 320, 320],
        opt_shape=[1, 3, 800, 1344],
        max_shape=[1, 3, 1344, 1344])))
])
# MMDeploy's TensorRT NMS plugin is run with its own top-k (5000, as in
# MMDeploy's configs; the shipped detectors give at most 5 x 1000 boxes).
# The ONNX Runtime rewrites of the RPN and R-CNN NMS (docs/deploy.md) do
# not apply to TensorRT: its graph keeps MMDeploy's.
codebase_config = dict(post_processing=dict(pre_top_k=5000))
