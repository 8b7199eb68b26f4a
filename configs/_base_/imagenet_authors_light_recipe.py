# The authors' recipe for their light models (RLA-Net's train_light.py):
# 400 epochs of SGD with momentum 0.9, lr 0.045 at batch 96, weight decay
# 4e-5 on every parameter, the lr multiplied by 0.98 after every epoch;
# plain cross-entropy, no warm-up. Its data pipeline is train.py's, so it is
# inherited: RandomResizedCrop 224 and a horizontal flip to train, the short
# side resized to 256 and a centre crop of 224 to evaluate (PIL bilinear).
# The RLA-MobileNetV2 classifiers and their plain twin inherit this file and
# differ in the model only.
_base_ = ['./imagenet_authors_recipe.py']

# train_light.py's batch of 96 is the whole batch: one DataParallel process.
train_dataloader = dict(batch_size=96)
optim_wrapper = dict(optimizer=dict(lr=0.045, weight_decay=4e-5))
param_scheduler = dict(
    _delete_=True, type='ExponentialLR', gamma=0.98, by_epoch=True)
train_cfg = dict(max_epochs=400)
auto_scale_lr = dict(base_batch_size=96)
