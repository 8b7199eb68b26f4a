# What every deploy config shares: the ONNX export (MMDeploy's `onnx_config`,
# the arguments of torch.onnx.export) of an end-to-end model, one input.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    # 11: the opset MMDeploy's rewriters and ONNX Runtime ops are written for
    # (and TensorRT 8's parser reads).
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    # None: the size comes from the model config's test pipeline (dynamic
    # configs) or is set by a static config as [width, height].
    input_shape=None,
    # MMDeploy's graph passes need its TorchScript extension, which its
    # wheel does not carry; without it they only warn.
    optimize=False)
