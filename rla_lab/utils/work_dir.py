"""Checks of a training's work dir before anything heavy is built: that it
can be written, and that the checkpoint a resume would read is whole."""
import os
import re
import tempfile
import zipfile
from typing import List, Optional

from mmengine.runner.checkpoint import find_latest_checkpoint

_STEP = re.compile(r'(?:epoch|iter)_(\d+)\.pth$')


def unwritable_work_dir_message(work_dir: str) -> Optional[str]:
    """Why ``work_dir`` cannot hold the run's logs and checkpoints, with the
    fix; None if it can (it is created if missing)."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as error:
        return (f'The work dir {work_dir} cannot be written '
                f'({error.strerror or error}); training would fail at its '
                f'first log or checkpoint. Pass a writable --work-dir.')
    return None


def is_whole_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file.

    torch writes a zip archive whose directory comes last, so a file cut
    short (a process killed while writing, a full disk) has none.
    """
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def saved_checkpoints(work_dir: str) -> List[str]:
    """The ``epoch_N.pth`` / ``iter_N.pth`` files of ``work_dir``, oldest
    step first."""
    names = [n for n in os.listdir(work_dir) if _STEP.match(n)]
    names.sort(key=lambda n: int(_STEP.match(n).group(1)))
    return [os.path.join(work_dir, n) for n in names]


def damaged_resume_message(work_dir: str,
                           resume_from: Optional[str]) -> Optional[str]:
    """Why the checkpoint a resume would read cannot be used, naming the
    newest whole one to resume from instead; None if it is whole.

    Args:
        work_dir (str): The run's work dir.
        resume_from (str, optional): The ``--resume`` path; None for the
            latest checkpoint of ``work_dir`` (what ``last_checkpoint``
            names, as mmengine's auto-resume reads it).
    """
    path = resume_from
    if path is None:
        if not os.path.isfile(os.path.join(work_dir, 'last_checkpoint')):
            return None
        path = find_latest_checkpoint(work_dir)
    if not os.path.isfile(path):
        return f'The checkpoint to resume from, {path}, does not exist.'
    if is_whole_checkpoint(path):
        return None
    message = (f'The checkpoint to resume from, {path}, is damaged (cut '
               f'short: {os.path.getsize(path)} bytes, not a whole file).')
    others = [
        p for p in saved_checkpoints(os.path.dirname(path) or '.')
        if not os.path.samefile(p, path) and is_whole_checkpoint(p)
    ]
    if others:
        return (f'{message} Resume from the newest whole one with '
                f'--resume {others[-1]}, or delete {path}.')
    return (f'{message} No other whole checkpoint is in its folder: train '
            f'from the start in a new --work-dir.')
