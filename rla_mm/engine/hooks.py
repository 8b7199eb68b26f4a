"""Hooks that make resumed training continue exactly, distributed testing
write its metrics once, and the twins of a paired comparison start alike."""
import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, is_main_process
from mmengine.hooks import CheckpointHook, Hook, LoggerHook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop, set_random_seed

CHECKPOINT_KEY = 'rng_states'
# The train sampler's shuffling seed. mmengine builds the sampler with the
# runner's seed before a resume restores the checkpoint's, so a config
# without a fixed seed (mmdet's and mmseg's) would shuffle differently.
SAMPLER_SEED_KEY = 'train_sampler_seed'


def get_rng_state() -> Dict[str, Any]:
    """This process's RNG states as plain types and tensors.

    numpy's state is stored as lists so that the checkpoint stays loadable
    with ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': (name, keys.tolist(), pos, has_gauss, gauss),
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    random.setstate(state['python'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def saves_now(hook: CheckpointHook, runner, epoch_end: bool) -> bool:
    """Whether mmengine's ``hook`` saves a checkpoint at this point of
    training: after an iteration (``epoch_end=False``) or after an epoch.

    The conditions of ``CheckpointHook.after_train_iter`` and
    ``after_train_epoch`` in mmengine 0.10, evaluated with the hook's own
    helpers.
    """
    if hook.by_epoch != epoch_end:
        return False
    if epoch_end:
        return hook.every_n_epochs(runner, hook.interval, hook.save_begin) \
            or (hook.save_last and hook.is_last_train_epoch(runner))
    return hook.every_n_train_iters(runner, hook.interval, hook.save_begin) \
        or (hook.save_last and hook.is_last_train_iter(runner))


def train_sampler(runner) -> Any:
    """The sampler that orders the train set: the dataloader's, or its
    batch sampler's (mmdet's ``AspectRatioBatchSampler`` wraps it), as
    mmengine's ``DistSamplerSeedHook`` finds it."""
    dataloader = runner.train_dataloader
    sampler = dataloader.sampler
    if not hasattr(sampler, 'seed') and hasattr(dataloader.batch_sampler,
                                                 'sampler'):
        sampler = dataloader.batch_sampler.sampler
    return sampler


class RNGStateHook(Hook):
    """Save every rank's RNG states in checkpoints and restore them on resume.

    mmengine re-seeds a resumed run, so anything that draws random numbers
    while training (Mask R-CNN's RoI samplers, random flips) would draw
    different numbers than an uninterrupted run. The states are restored
    where the resumed loop reaches the saved point: at the start of the
    epoch for an epoch-based loop, before the first iteration (after the
    batches already seen are replayed) for an iteration-based one; the
    train sampler gets its shuffling seed back too. So the resumed run
    repeats the uninterrupted one exactly with the same number of
    processes; with another it warns. Validation leaves the states as it
    found them. Weights loaded with ``load_from`` start a new run: nothing
    is restored.

    mmengine's ``Runner.save_checkpoint`` runs on rank 0 only, so the states
    cannot be gathered there: every rank gathers them in
    ``after_train_iter`` / ``after_train_epoch`` when a ``CheckpointHook``
    is about to save (this hook runs just before it), and rank 0 puts them
    in the checkpoint. A checkpoint saved elsewhere (the best one, after
    validation) holds them only in a single-process run.
    """

    # Before CheckpointHook (VERY_LOW), which saves in the same callbacks.
    priority = 'LOW'

    def __init__(self) -> None:
        self._pending: Optional[List[Dict[str, Any]]] = None
        self._gathered: Optional[Tuple[int, List[Dict[str, Any]]]] = None
        self._before_val: Optional[Dict[str, Any]] = None
        self._sampler_seed: Optional[int] = None

    def _gather_if_saving(self, runner, epoch_end: bool) -> None:
        if any(
                saves_now(hook, runner, epoch_end) for hook in runner.hooks
                if isinstance(hook, CheckpointHook)):
            # A collective: every rank takes part.
            self._gathered = (runner.iter, all_gather_object(get_rng_state()))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._gather_if_saving(runner, epoch_end=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, epoch_end=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Rank 0 only (Runner.save_checkpoint is master_only): no collective.
        if self._gathered is not None and self._gathered[0] == runner.iter:
            checkpoint[CHECKPOINT_KEY] = self._gathered[1]
        elif runner.world_size == 1:
            checkpoint[CHECKPOINT_KEY] = [get_rng_state()]
        # Every rank's sampler has the same seed (mmengine syncs it).
        seed = getattr(train_sampler(runner), 'seed', None)
        if seed is not None:
            checkpoint[SAMPLER_SEED_KEY] = seed

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(CHECKPOINT_KEY)
        self._sampler_seed = checkpoint.get(SAMPLER_SEED_KEY)

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            # Weights loaded with load_from: a new run, with its own draws.
            self._pending = self._sampler_seed = None
        elif self._sampler_seed is not None:
            # Resumed: shuffle as the interrupted run did (the sampler
            # builds its order from the seed when it is first iterated).
            train_sampler(runner).seed = self._sampler_seed

    def before_val(self, runner) -> None:
        # Creating the val dataloader's iterator draws from torch's RNG;
        # validation must not shift what training draws next, or a run
        # resumed after a validation would draw other numbers.
        self._before_val = get_rng_state()

    def after_val(self, runner) -> None:
        set_rng_state(self._before_val)

    def before_train_epoch(self, runner) -> None:
        # An epoch-based loop resumes at an epoch's start, before the
        # train dataloader's iterator draws its seed; an iteration-based one
        # first replays the batches already seen, so it restores later.
        if not isinstance(runner.train_loop, IterBasedTrainLoop):
            self._restore(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._restore(runner)

    def _restore(self, runner) -> None:
        if self._pending is None:
            return
        states, self._pending = self._pending, None
        if len(states) != runner.world_size:
            runner.logger.warning(
                f'RNG states were saved by {len(states)} processes but '
                f'{runner.world_size} resume; random draws will differ from '
                f'an uninterrupted run.')
            return
        set_rng_state(states[get_rank()])


class MainProcessLoggerHook(LoggerHook):
    """mmengine's ``LoggerHook``, with the test metrics written by the main
    process only.

    In mmengine 0.10, every process of a distributed test writes the same
    ``<timestamp>/<timestamp>.json``. Two processes truncating and writing
    it at once can leave the end of one record behind the other on a single
    line, which no JSON reader takes (seen with 2 processes in CI). The
    metrics are the same on every process: the evaluator broadcasts them.
    """

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        if is_main_process():
            super().after_test_epoch(runner, metrics)


class SharedStartHook(Hook):
    """Start training from given weights with freshly seeded RNGs.

    For the twins of a paired comparison trained from scratch
    (``tools/paper/run_pairs.py --couple-init``): both load initial weights
    written from one draw (``rla_lab.paper.coupling``), and both re-seed
    right before the first iteration, so that what training draws (the
    dropout masks of a decode head, random flips) is the same for both,
    although building the two models drew different numbers of random
    numbers. A resumed run is left alone: its weights and RNG states come
    from its checkpoint.

    Args:
        checkpoint (str): The model's initial state dict, saved with
            ``torch.save`` (tensors only).
        seed (int): Seed of Python's, numpy's and torch's RNGs at the first
            iteration.
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint: str, seed: int) -> None:
        self.checkpoint = checkpoint
        self.seed = seed

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = torch.load(self.checkpoint, map_location='cpu',
                           weights_only=True)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise RuntimeError(
                f'The initial weights {self.checkpoint} do not fit this '
                f'model; they were written for another config. Delete the '
                f'file to have run_pairs.py write it anew.\n{error}'
            ) from error
        set_random_seed(self.seed)
