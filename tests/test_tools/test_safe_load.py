"""mmengine checkpoints load with ``weights_only=True``; nothing else does."""
import os
import pickle
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

import rla_mm  # noqa: F401  (registers the checkpoint globals)
from rla_mm.utils.safe_load import checkpoint_safe_globals

from .tool_helpers import TrainedRun


@pytest.fixture(scope='module')
def training_state(mask_rcnn_run: TrainedRun,
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The non-tensor part of a real checkpoint (message hub and meta) in a
    small file: what needs the registered globals."""
    checkpoint = torch.load(
        mask_rcnn_run.checkpoint, map_location='cpu', weights_only=False)
    path = tmp_path_factory.mktemp('safe_load') / 'training_state.pth'
    torch.save({k: checkpoint[k] for k in ('meta', 'message_hub')}, path)
    return path


@pytest.fixture
def no_registered_globals():
    """Only torch's own allow-list during the test."""
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(registered)


def test_training_checkpoint_loads(mask_rcnn_run: TrainedRun):
    checkpoint = torch.load(mask_rcnn_run.checkpoint, weights_only=True)
    assert {
        'meta', 'state_dict', 'optimizer', 'param_schedulers', 'message_hub'
    } <= set(checkpoint)
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert len(loss.data[0]) == 6  # one loss per iteration
    assert loss.mean() == pytest.approx(float(loss.data[0].mean()))


@pytest.mark.usefixtures('no_registered_globals')
def test_every_registered_global_is_needed(training_state: Path):
    entries = checkpoint_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(training_state, weights_only=True)
    with torch.serialization.safe_globals(entries):
        torch.load(training_state, weights_only=True)
    for left_out in range(len(entries)):
        others = entries[:left_out] + entries[left_out + 1:]
        with torch.serialization.safe_globals(others), \
                pytest.raises(pickle.UnpicklingError):
            torch.load(training_state, weights_only=True)


class _Untrusted:
    pass


def test_mmengine_loading_stays_weights_only(tmp_path: Path):
    """The point of the module: with rla_mm imported, mmengine's loader
    (``load_from``, ``resume``, ``Pretrained``), which calls ``torch.load``
    without ``weights_only``, still refuses what is not allow-listed."""
    path = tmp_path / 'untrusted.pth'
    torch.save({'state_dict': {}, 'payload': _Untrusted()}, path)
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


@pytest.mark.parametrize(
    'payload',
    [
        _Untrusted(),
        os.getcwd,
        HistoryBuffer.update,  # pickled as getattr(HistoryBuffer, 'update')
    ],
    ids=['class', 'function', 'getattr'])
def test_other_globals_are_refused(payload, tmp_path: Path):
    path = tmp_path / 'payload.pth'
    torch.save({'payload': payload}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
