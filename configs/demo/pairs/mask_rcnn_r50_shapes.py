# The Mask R-CNN demo's ResNet-50 twin as the paired kit runs it
# (tools/paper/run_pairs.py --demo det): ../mask_rcnn_r50_shapes.py on the
# kit's dataset, that of fpn_r50_shapes_seg.py in this folder (1000 val
# images), which COCO's evaluator reads too.
_base_ = '../mask_rcnn_r50_shapes.py'

data_root = 'data/demo_shapes_pairs/'
shapes_dataset = dict(root=data_root, num_val=1000)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
