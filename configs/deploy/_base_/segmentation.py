_base_ = ['./onnx.py']
# An MMSegmentation end-to-end segmenter: the label map (argmax in the graph)
# at the input's size.
codebase_config = dict(
    type='mmseg', task='Segmentation', model_type='end2end', with_argmax=True)
