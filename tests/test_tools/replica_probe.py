"""A hook for the distributed test: each rank records digests of its model.

Imported by the test configs through ``custom_imports``; mmengine saves
checkpoints from rank 0 only, so the other replicas are only visible from
inside the training processes.
"""
import hashlib
import json
import os.path as osp
from typing import Dict

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def state_digests(model: torch.nn.Module) -> Dict[str, str]:
    """SHA-1 of the bytes of every parameter and buffer of ``model``."""
    return {
        name:
        hashlib.sha1(
            tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
        for name, tensor in model.state_dict().items()
    }


@HOOKS.register_module()
class ReplicaDigestHook(Hook):
    """Write ``replica_rank<r>.json``: digests before and after training."""

    def before_train(self, runner) -> None:
        self._before = state_digests(self._model(runner))

    def after_train(self, runner) -> None:
        record = dict(
            before=self._before, after=state_digests(self._model(runner)))
        path = osp.join(runner.work_dir, f'replica_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(record, f)

    @staticmethod
    def _model(runner) -> torch.nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model
