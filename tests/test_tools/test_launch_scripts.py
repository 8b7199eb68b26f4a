"""The command lines the launch scripts build, with stand-ins for the
launchers (torchrun runs for real in test_distributed.py)."""
import os
from pathlib import Path
from typing import List

import pytest

from .tool_helpers import REPO_ROOT, TOOLS, run_tool, tool_env


def _run_with_fake(program: str, script: str, args: List[str], tmp_path: Path,
                   **env: str) -> List[str]:
    """Run ``script`` with ``program`` (python or srun) replaced by a stub
    that prints its arguments; return them."""
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    stub = fake_bin / program
    stub.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    stub.chmod(0o755)
    full_env = tool_env(**env)
    full_env['PATH'] = os.pathsep.join([str(fake_bin), full_env['PATH']])
    proc = run_tool(
        ['bash', TOOLS / script] + args, cwd=tmp_path, env=full_env)
    return proc.stdout.splitlines()


def test_dist_train_multi_node(tmp_path: Path):
    argv = _run_with_fake(
        'python',
        'dist_train.sh', ['cfg.py', '8', '--amp'],
        tmp_path,
        NNODES='2',
        NODE_RANK='1',
        MASTER_ADDR='10.0.0.1',
        PORT='29999')
    assert argv == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.0.0.1', '--master_port=29999', '--nproc_per_node=8',
        str(REPO_ROOT / 'tools' / 'train.py'), 'cfg.py', '--launcher',
        'pytorch', '--amp'
    ]


def test_dist_test_defaults(tmp_path: Path):
    argv = _run_with_fake(
        'python',
        'dist_test.sh', ['cfg.py', 'ckpt.pth', '4', '--out', 'r.pkl'],
        tmp_path,
        NNODES='',
        NODE_RANK='',
        MASTER_ADDR='',
        PORT='')
    assert argv == [
        '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--master_port=29500', '--nproc_per_node=4',
        str(REPO_ROOT / 'tools' / 'test.py'), 'cfg.py', 'ckpt.pth',
        '--launcher', 'pytorch', '--out', 'r.pkl'
    ]


def test_slurm_train(tmp_path: Path):
    argv = _run_with_fake(
        'srun',
        'slurm_train.sh',
        ['gpu', 'rla', 'cfg.py', 'work_dirs/rla', '--resume'],
        tmp_path,
        GPUS='16',
        GPUS_PER_NODE='8',
        CPUS_PER_TASK='4',
        SRUN_ARGS='--quotatype=auto --time=1:00:00')
    assert argv == [
        '-p', 'gpu', '--job-name=rla', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=4', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=1:00:00', 'python', '-u',
        str(REPO_ROOT / 'tools' / 'train.py'), 'cfg.py',
        '--work-dir=work_dirs/rla', '--launcher=slurm', '--resume'
    ]


def test_slurm_test_defaults(tmp_path: Path):
    argv = _run_with_fake(
        'srun',
        'slurm_test.sh', ['gpu', 'rla', 'cfg.py', 'ckpt.pth'],
        tmp_path,
        GPUS='',
        GPUS_PER_NODE='',
        CPUS_PER_TASK='',
        SRUN_ARGS='')
    assert argv == [
        '-p', 'gpu', '--job-name=rla', '--gres=gpu:8', '--ntasks=8',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        'python', '-u',
        str(REPO_ROOT / 'tools' / 'test.py'), 'cfg.py', 'ckpt.pth',
        '--launcher=slurm'
    ]


@pytest.mark.parametrize('script, num_args', [('dist_train.sh', 2),
                                              ('dist_test.sh', 3),
                                              ('slurm_train.sh', 4),
                                              ('slurm_test.sh', 4)])
def test_usage_on_missing_arguments(script, num_args, tmp_path: Path):
    proc = run_tool(
        ['bash', TOOLS / script] + ['x'] * (num_args - 1),
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f'usage: {TOOLS / script}')
