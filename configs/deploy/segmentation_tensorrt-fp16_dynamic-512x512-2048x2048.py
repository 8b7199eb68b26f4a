# UPerNet, Semantic FPN and DeepLabV3+ to TensorRT in fp16, on an NVIDIA
# GPU: batch 1, any height and width from 512 to 2048 (the engine is tuned
# for 512x1024, Cityscapes' crop).
_base_ = ['./_base_/segmentation.py', './_base_/tensorrt_fp16.py']
onnx_config = dict(
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        output=dict({0: 'batch', 2: 'height', 3: 'width'})))
backend_config = dict(model_inputs=[
    dict(input_shapes=dict(input=dict(
        min_shape=[1, 3, 512, 512],
        opt_shape=[1, 3, 512, 1024],
        max_shape=[1, 3, 2048, 2048])))
])
