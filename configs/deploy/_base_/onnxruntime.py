# ONNX Runtime, with MMDeploy's custom-op library from its wheel.
backend_config = dict(type='onnxruntime')
