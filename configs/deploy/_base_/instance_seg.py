_base_ = ['./detection.py']
# An MMDetection end-to-end instance segmenter (MMDeploy's ObjectDetection
# task with a third output): boxes, labels and each box's mask (28x28 for
# Mask R-CNN), pasted into the image after the runtime, as mmdet does.
onnx_config = dict(output_names=['dets', 'labels', 'masks'])
codebase_config = dict(post_processing=dict(export_postprocess_mask=False))
