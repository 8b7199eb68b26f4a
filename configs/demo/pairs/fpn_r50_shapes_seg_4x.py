# The kit's Semantic FPN demo pair at 4x the demo's 700 iterations
# (tools/paper/run_pairs.py --demo seg-4x, `make paper-demo`): 2800
# iterations on the kit's dataset (fpn_r50_shapes_seg.py of this folder),
# the cosine decay stretched over them. The ResNet-50 twin.
_base_ = './fpn_r50_shapes_seg.py'

max_iters = 2800
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
