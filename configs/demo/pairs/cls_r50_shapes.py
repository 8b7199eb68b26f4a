# The classification demo's ResNet-50 twin as the paired kit runs it
# (tools/paper/run_pairs.py --demo cls): ../cls_r50_shapes.py, its images
# in a folder of the kit's own.
_base_ = '../cls_r50_shapes.py'

data_root = 'data/demo_shapes_cls_pairs/'
shapes_dataset = dict(root=data_root)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
