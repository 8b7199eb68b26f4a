"""What the tools share about runs: work dirs, their logs, tool processes
and training curves.

mmengine's ``Runner`` writes each start of a run into its own folder of the
work dir, ``<work_dir>/<YYYYMMDD_HHMMSS>/``: the logged scalars as JSON
lines in ``vis_data/scalars.json`` and, for a test, the final metrics as one
JSON line in ``<YYYYMMDD_HHMMSS>.json``. A resumed training adds a folder.
"""
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import threading
from typing import (Dict, List, Mapping, NamedTuple, Optional, Sequence,
                    TextIO, Tuple, Union)

# mmengine names a run's folder after its start time.
RUN_DIR_PATTERN = re.compile(r'^\d{8}_\d{6}$')
# The checkout rla_mm is installed from (editable) and its command-line
# tools.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS_DIR = osp.join(REPO_ROOT, 'tools')

PathLike = Union[str, os.PathLike]

# Held while a line goes out, so that lines that threads print, and the
# lines of the commands they relay, never break into each other.
_OUTPUT_LOCK = threading.Lock()


# Ours: mmpretrain's load_json_log splits by 'lr'; mmdet's is in a script.
def read_json_lines(path: PathLike) -> List[dict]:
    """Records of a JSON-lines file such as mmengine's ``scalars.json``."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_dirs(work_dir: PathLike) -> List[str]:
    """The ``YYYYMMDD_HHMMSS`` run folders of ``work_dir``, oldest first.

    A work dir that does not exist has none.
    """
    if not osp.isdir(work_dir):
        return []
    return sorted(
        osp.join(work_dir, name) for name in os.listdir(work_dir)
        if RUN_DIR_PATTERN.match(name)
        and osp.isdir(osp.join(work_dir, name)))


def latest_run_dir(work_dir: PathLike) -> str:
    """The newest run folder of ``work_dir``.

    Raises:
        FileNotFoundError: If there is none.
    """
    runs = run_dirs(work_dir)
    if not runs:
        raise FileNotFoundError(
            f'no run folder (YYYYMMDD_HHMMSS) in {work_dir}; did the run '
            f'fail before it started logging?')
    return runs[-1]


def scalars_file(run_dir: PathLike) -> str:
    """Where mmengine logs the scalars of the run in ``run_dir``."""
    return osp.join(run_dir, 'vis_data', 'scalars.json')


def metrics_file(run_dir: PathLike) -> str:
    """Where mmengine writes the test metrics of the run in ``run_dir``."""
    return osp.join(run_dir, f'{osp.basename(osp.normpath(run_dir))}.json')


def read_scalars(work_dir: PathLike) -> List[dict]:
    """The logged scalars of every run in ``work_dir``, oldest run first.

    Runs that logged nothing (e.g. a test) are skipped.
    """
    records: List[dict] = []
    for run in run_dirs(work_dir):
        if osp.isfile(scalars_file(run)):
            records += read_json_lines(scalars_file(run))
    return records


def read_test_metrics(work_dir: PathLike) -> Dict[str, float]:
    """The metrics of the newest test run in ``work_dir`` that wrote them.

    Returns:
        dict: As the evaluator names them, e.g. ``{'coco/bbox_mAP': 0.37,
        ...}`` or ``{'mIoU': 61.2, ...}``.

    Raises:
        FileNotFoundError: If no run there wrote its metrics.
    """
    for run in reversed(run_dirs(work_dir)):
        if osp.isfile(metrics_file(run)):
            records = read_json_lines(metrics_file(run))
            if records:
                return records[-1]
    raise FileNotFoundError(
        f'no test metrics (<timestamp>/<timestamp>.json) in {work_dir}; did '
        f'tools/test.py fail?')


def tool_command(script: str, *args: PathLike) -> List[str]:
    """The command line that runs ``tools/<script>`` with this interpreter.

    Args:
        script (str): Path of the script under ``tools/``, e.g.
            ``'train.py'`` or ``'model_converters/rla_imagenet2mmdet.py'``.
        *args: Its arguments.

    Raises:
        FileNotFoundError: If there is no such script, e.g. because rla_mm
            was installed from a wheel rather than from a checkout.
    """
    path = osp.join(TOOLS_DIR, script)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: the tools are run from a checkout of '
            f'rla_mm, installed with pip install -e.')
    return [sys.executable, path, *map(str, args)]


def shell_line(argv: Sequence[PathLike],
               env: Optional[Mapping[str, str]] = None) -> str:
    """``argv`` with the variables ``env`` adds, as one shell line."""
    assignments = [f'{k}={shlex.quote(v)}' for k, v in (env or {}).items()]
    return ' '.join(assignments + [shlex.quote(str(a)) for a in argv])


def print_line(text: str, file: Optional[TextIO] = None) -> None:
    """Print ``text`` and a newline whole, even beside other threads.

    ``print`` writes the text and the newline separately, so two threads'
    lines can run into each other; this writes one string under a lock that
    ``run_command`` takes too.
    """
    file = sys.stdout if file is None else file
    with _OUTPUT_LOCK:
        file.write(text + '\n')
        file.flush()


def _relay(argv: List[str], env: Dict[str, str], cwd: Optional[PathLike],
           prefix: str) -> int:
    """Run ``argv``, print each line of its output behind ``prefix``.

    stdout and stderr come through one pipe, in the order written. The
    child's Python streams are unbuffered: the lines show as they are
    logged, not in blocks of 8 KiB.

    Returns:
        int: The exit status.
    """
    with subprocess.Popen(
            argv,
            env={**env, 'PYTHONUNBUFFERED': '1'},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors='replace') as proc:
        for line in proc.stdout:
            print_line(prefix + line.rstrip('\n'))
    return proc.returncode


def run_command(argv: Sequence[PathLike],
                env: Optional[Mapping[str, str]] = None,
                cwd: Optional[PathLike] = None,
                capture_output: bool = False,
                timeout: Optional[float] = None,
                check: bool = True,
                echo: bool = True,
                prefix: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run ``argv`` in a subprocess, its output streamed unless captured.

    The environment is this process's plus ``env``. Unless either sets
    ``OMP_WAIT_POLICY``, OpenMP threads wait passively: when another process
    keeps a core busy (CI, a laptop at work), threads that spin while they
    wait made training iterations 10x slower on 2 cores, and waiting
    passively costs about 10% on an idle machine.

    Commands that run side by side in threads and share this process's
    stdout would break into each other's lines (a child writes its output
    in blocks, not lines); give each a ``prefix`` and their output is
    relayed line by line instead.

    Args:
        argv: The command and its arguments.
        env: Variables to add or override.
        cwd: Working directory of the command.
        capture_output (bool): Capture stdout and stderr as text.
        timeout (float, optional): Seconds before the command is killed.
        check (bool): Raise if the command fails.
        echo (bool): Print the command line (``+ ...``) first.
        prefix (str, optional): Relay the command's stdout and stderr, in
            the order written, to this process's stdout, each line whole
            and behind ``prefix`` (e.g. the run's name).

    Raises:
        ValueError: If ``prefix`` is given with ``capture_output`` or
            ``timeout``.
        subprocess.CalledProcessError: With ``check``, if the command exits
            with a non-zero status.
    """
    if prefix is not None and (capture_output or timeout is not None):
        raise ValueError(
            'run_command relays the output of a command with a prefix; it '
            'cannot also capture it or time it out. Pass prefix=None.')
    argv = [str(a) for a in argv]
    if echo:
        print_line('+ ' + shell_line(argv, env))
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    if prefix is None:
        return subprocess.run(
            argv,
            env=full_env,
            cwd=cwd,
            capture_output=capture_output,
            text=capture_output,
            timeout=timeout,
            check=check)
    returncode = _relay(argv, full_env, cwd, prefix)
    if check and returncode != 0:
        raise subprocess.CalledProcessError(returncode, argv)
    return subprocess.CompletedProcess(argv, returncode)


class Curve(NamedTuple):
    """One line of a plot: (x, y) points and how to draw them.

    Attributes:
        label (str): Its legend entry.
        points (Sequence[tuple[float, float]]): Its points, in x order.
        color (str, optional): A matplotlib colour; the next of the cycle
            when None.
        linewidth (float): Line width in points.
    """
    label: str
    points: Sequence[Tuple[float, float]]
    color: Optional[str] = None
    linewidth: float = 1.2


class Reference(NamedTuple):
    """A horizontal dashed line, e.g. a published result to compare with."""
    label: str
    value: float
    color: Optional[str] = None


class Panel(NamedTuple):
    """One plot of a figure."""
    title: str
    ylabel: str
    curves: Sequence[Curve]
    references: Sequence[Reference] = ()
    xlabel: str = 'iteration'


# Curves with fewer points than this get markers, so a smoke run's one or
# two points stay visible.
_MARKER_BELOW = 30


# Ours: mmdet's plot_curve (analyze_logs.py) is a script's, on pyplot.
def plot_panels(rows: Sequence[Sequence[Panel]],
                out_file: PathLike,
                panel_size: Tuple[float, float] = (5.5, 3.6)) -> None:
    """Draw a grid of panels, one list of panels per row, into ``out_file``.

    Raises:
        ValueError: If there is no panel, or the rows differ in length.
    """
    columns = {len(row) for row in rows}
    if not rows or len(columns) != 1 or 0 in columns:
        raise ValueError(
            f'plot_panels needs rows of the same, non-zero number of panels; '
            f'got rows of {[len(row) for row in rows]} panels.')
    # A bare Figure needs no GUI backend (and no pyplot global state).
    from matplotlib.figure import Figure
    num_columns = columns.pop()
    fig = Figure(figsize=(panel_size[0] * num_columns,
                          panel_size[1] * len(rows)))
    axes = fig.subplots(len(rows), num_columns, squeeze=False)
    for row_axes, row in zip(axes, rows):
        for ax, panel in zip(row_axes, row):
            for curve in panel.curves:
                if not curve.points:
                    continue
                ax.plot(
                    *zip(*curve.points),
                    label=curve.label,
                    color=curve.color,
                    linewidth=curve.linewidth,
                    marker='o' if len(curve.points) < _MARKER_BELOW else None,
                    markersize=4)
            for reference in panel.references:
                ax.axhline(
                    reference.value,
                    color=reference.color,
                    linestyle='--',
                    label=reference.label)
            ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)


# Ours: mmdet's analyze_logs.py picks curves from a script's arguments.
def loss_curves(records: Sequence[dict]) -> List[Curve]:
    """One curve per ``loss*`` scalar of training records, by iteration.

    The total ``loss`` is drawn thicker than its parts.

    Raises:
        ValueError: If no record has a loss.
    """
    records = [r for r in records if 'loss' in r]
    if not records:
        raise ValueError('no loss in the training log; nothing to plot. '
                         'Lower default_hooks.logger.interval so that at '
                         'least one training iteration is logged.')
    keys = sorted({k for r in records for k in r if k.startswith('loss')})
    return [
        Curve(
            key, [(r['step'], r[key]) for r in records if key in r],
            linewidth=2.5 if key == 'loss' else 1.2) for key in keys
    ]
