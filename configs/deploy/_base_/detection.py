_base_ = ['./onnx.py']
# An MMDetection end-to-end detector: boxes and labels, NMS in the graph.
onnx_config = dict(output_names=['dets', 'labels'])
codebase_config = dict(
    type='mmdet',
    task='ObjectDetection',
    model_type='end2end',
    # MMDeploy's NMS reads the model's test_cfg (nms.iou_threshold,
    # score_thr, max_per_img) and falls back on these where the test_cfg
    # has no such key. The values make it do what mmdet does
    # (docs/deploy.md, "Post-processing"):
    post_processing=dict(
        # Reached only by the RPN, whose test_cfg has no score_thr; mmdet
        # keeps every proposal whatever its objectness (stock MMDeploy
        # configs drop those under 0.05).
        score_threshold=0.0,
        # Overridden by each test_cfg's nms.iou_threshold.
        iou_threshold=0.5,
        # mmdet caps detections per image, not per class: per class it
        # keeps up to max_per_img (1000 proposals for the RPN), so the cap
        # per class must not be lower than the largest max_per_img.
        max_output_boxes_per_class=1000,
        # mmdet has no top-k across levels before NMS (each level's nms_pre
        # is the test_cfg's): -1 turns it off.
        pre_top_k=-1,
        # Overridden by each test_cfg's max_per_img.
        keep_top_k=100,
        background_label_id=-1))
