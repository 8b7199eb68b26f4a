# TensorRT in fp16, 1 GiB of builder workspace; the input shape ranges
# (`model_inputs`) are in each config.
backend_config = dict(
    type='tensorrt',
    common_config=dict(fp16_mode=True, max_workspace_size=1 << 30))
