# The kit's Semantic FPN demo pair on 1600 train images instead of 400
# (tools/paper/run_pairs.py --demo seg-train1600, `make paper-record`): the
# same 700 iterations see each image 3.5 times instead of 14. Its dataset
# has a folder of its own; its 1000 val images are those of the kit's
# dataset (fpn_r50_shapes_seg.py of this folder). The ResNet-50 twin.
_base_ = './fpn_r50_shapes_seg.py'

data_root = 'data/demo_shapes_train1600/'
shapes_dataset = dict(root=data_root, num_train=1600)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
