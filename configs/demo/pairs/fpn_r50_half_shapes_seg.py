# The half-width Semantic FPN demo's ResNet-50 twin as the paired kit runs
# it (tools/paper/run_pairs.py --demo seg-half): ../fpn_r50_half_shapes_seg.py
# on the kit's dataset, that of fpn_r50_shapes_seg.py in this folder (1000
# val images).
_base_ = '../fpn_r50_half_shapes_seg.py'

data_root = 'data/demo_shapes_pairs/'
shapes_dataset = dict(root=data_root, num_val=1000)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
