"""Side-by-side cost of RLA-ResNet and mmdet's ResNet in one process.

Both models are measured alternately (RLA, ResNet, ResNet, RLA, ...) by
``torch.utils.benchmark.Timer`` under the same conditions, and each ratio is
taken within a round, so the printed ratios hold on a shared, noisy machine
where absolute times do not. Reports, for each depth pair:

* train step: forward + backward with BatchNorm in training mode;
* inference: forward under ``torch.no_grad`` in eval mode;
* peak memory of a train step: the CUDA allocator's peak on GPU; on CPU the
  growth of the peak resident memory (VmHWM) of a fresh subprocess per
  model over one train step; plus the bytes autograd
  saves for backward (exact and noise-free on any device).

``--detector`` adds a full Mask R-CNN training iteration (mmdet's R50 config,
backbone swapped) to show the end-to-end cost.

Examples::

    python tools/analysis/benchmark_backbone.py
    python tools/analysis/benchmark_backbone.py --depths 50 101 --repeats 5
    python tools/analysis/benchmark_backbone.py --device cuda --amp
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.utils.benchmark as benchmark

# Models whose peak memory is measured: RLA-ResNet, its ResNet twin, and
# RLA-ResNet with gradient checkpointing (which should undercut plain ResNet).
VARIANTS = ('rla', 'resnet', 'rla_cp')
# --ablation: RLA-ResNet with its fast paths switched off one by one
# (cumulatively), down to the literal definition.
ABLATION = {
    'rla -fuse': dict(fuse_projection=False),
    'rla literal': dict(fuse_projection=False, split_conv1=False),
}
# --dilated: output stride 8, as PSPNet / DeepLabV3(+) use ResNets.
DILATED = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
               contract_dilation=True)
ROOT = Path(__file__).resolve().parents[2]


def build_backbone(kind: str, depth: int, dilated: bool = False) -> nn.Module:
    """RLA-ResNet (``rla``, ``rla_cp`` = with checkpointing, or an
    ``ABLATION`` variant) or its ResNet twin.

    The twin is mmdet's ResNet, or with ``dilated`` MMSegmentation's
    (mmdet's has no ``contract_dilation``).
    """
    from mmdet.registry import MODELS

    import rla_mm  # noqa: F401
    common = dict(depth=depth, norm_eval=False, frozen_stages=-1)
    if dilated:
        common.update(DILATED)
    if kind == 'resnet':
        if dilated:
            from mmseg.registry import MODELS as SEG_MODELS
            return SEG_MODELS.build(dict(type='ResNet', **common))
        return MODELS.build(dict(type='ResNet', **common))
    # Timing does not depend on the initial values: skip init_weights().
    model = MODELS.build(
        dict(type='RLAResNet', with_cp=kind == 'rla_cp', **common))
    model.set_fast_paths(**ABLATION.get(kind, {}))
    return model
def make_train_step(model: nn.Module, x: torch.Tensor,
                    amp: bool) -> Callable[[], None]:
    """A closure running forward + backward of ``model`` on ``x``."""
    dtype = torch.float16 if x.device.type == 'cuda' else torch.bfloat16

    def step() -> None:
        model.train()
        with torch.autocast(x.device.type, dtype=dtype, enabled=amp):
            outs = model(x)
            loss = sum(o.float().mean() for o in outs)
        loss.backward()
        model.zero_grad(set_to_none=True)

    return step


def make_inference(model: nn.Module, x: torch.Tensor,
                   amp: bool) -> Callable[[], None]:
    """A closure running an eval-mode forward of ``model`` on ``x``."""
    dtype = torch.float16 if x.device.type == 'cuda' else torch.bfloat16

    def infer() -> None:
        model.eval()
        with torch.no_grad(), torch.autocast(
                x.device.type, dtype=dtype, enabled=amp):
            model(x)

    return infer


def time_alternating(fns: Dict[str, Callable[[], None]], repeats: int,
                     warmup: int, min_run_time: float = 0.0
                     ) -> Dict[str, List[float]]:
    """Seconds per call of each function, one list entry per round.

    Each entry is the median of a ``torch.utils.benchmark.Timer``
    measurement (``blocked_autorange``: warm-up calls that size its blocks,
    then blocks of calls for ``min_run_time`` seconds, at least one call
    each; it synchronizes an accelerator around the blocks and runs on
    torch's current number of threads). Ours: the rounds. Every round
    measures each function once, back to back, in alternating order, so
    the machine's swings in speed hit all of them and neither always runs
    first.

    Args:
        fns (dict): The functions to time, by name.
        repeats (int): Number of rounds.
        warmup (int): Calls of each function before the first round (e.g.
            for ``torch.compile``), beside the Timer's own warm-up calls.
        min_run_time (float): Seconds each measurement runs at least.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be at least 1, got {repeats}.')
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    threads = torch.get_num_threads()
    timers = {
        name: benchmark.Timer(stmt='fn()', globals={'fn': fn}, label=name,
                              num_threads=threads)
        for name, fn in fns.items()
    }
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for r in range(repeats):
        order = list(fns) if r % 2 == 0 else list(reversed(list(fns)))
        for name in order:
            measurement = timers[name].blocked_autorange(
                min_run_time=min_run_time)
            times[name].append(measurement.median)
    return times


def summarize_rounds(times: Dict[str, List[float]]) -> Dict[str, float]:
    """Median seconds of each model, and each RLA model's ratio to ResNet.

    Ours: torch.utils.benchmark summarizes (and ``Compare`` tabulates) each
    model's measurements apart, not ratios paired by round.

    A ratio is the median over rounds of the ratio within a round: the
    models of a round ran seconds apart, so the machine's slow swings in
    speed (other jobs, frequency) cancel, which a ratio of medians taken
    over the whole run does not do. ``ratio_min``/``ratio_max`` show the
    spread over rounds. The plain ``ratio`` keys are RLA's (``rla``); an
    ablation variant ``v`` has ``ratio <v>`` etc.
    """
    summary = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        if name == 'resnet':
            continue
        ratios = [a / b for a, b in zip(ts, times['resnet'])]
        suffix = '' if name == 'rla' else f' {name}'
        summary.update({
            f'ratio{suffix}': statistics.median(ratios),
            f'ratio_min{suffix}': min(ratios),
            f'ratio_max{suffix}': max(ratios)
        })
    return summary


def saved_tensor_bytes(step_model: nn.Module, x: torch.Tensor,
                       amp: bool) -> int:
    """Bytes of distinct storages that autograd keeps for backward."""
    storages: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    step_model.train()
    dtype = torch.float16 if x.device.type == 'cuda' else torch.bfloat16
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.autocast(x.device.type, dtype=dtype, enabled=amp):
            outs = step_model(x)
    del outs
    return sum(storages.values())


def peak_memory_cuda(model: nn.Module, x: torch.Tensor, amp: bool) -> int:
    """CUDA allocator peak of one train step, above the resting state."""
    step = make_train_step(model, x, amp)
    step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def _read_status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def peak_memory_cpu_child(kind: str, depth: int, shape: Sequence[int],
                          amp: bool, channels_last: bool,
                          dilated: bool) -> int:
    """Run in a fresh process: peak RSS growth (bytes) of one train step."""
    torch.manual_seed(0)
    model = build_backbone(kind, depth, dilated)
    x = make_input(shape, torch.device('cpu'), channels_last)
    model = model.to(memory_format=torch.channels_last) if channels_last \
        else model
    step = make_train_step(model, x, amp)
    base = _read_status_kb('VmRSS')
    step()
    return (_read_status_kb('VmHWM') - base) * 1024


def peak_memory_cpu(kind: str, depth: int, shape: Sequence[int], amp: bool,
                    channels_last: bool, dilated: bool) -> int:
    """Peak RSS growth of a train step, measured in a fresh subprocess."""
    args = json.dumps(dict(kind=kind, depth=depth, shape=list(shape),
                           amp=amp, channels_last=channels_last,
                           dilated=dilated))
    # With a fixed mmap threshold glibc serves every large tensor by mmap and
    # returns it on free, so the peak RSS follows the live tensors.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
    out = subprocess.run(
        [sys.executable, __file__, '--_memory-child', args],
        check=True, capture_output=True, text=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


def make_input(shape: Sequence[int], device: torch.device,
               channels_last: bool) -> torch.Tensor:
    x = torch.randn(*shape, device=device)
    return x.to(memory_format=torch.channels_last) if channels_last else x


def benchmark_pair(depth: int, args: argparse.Namespace) -> Dict[str, dict]:
    """Times and memory of RLA-ResNet-``depth`` against ResNet-``depth``."""
    device = torch.device(args.device)
    x = make_input(args.shape, device, args.channels_last)
    models = {}
    kinds = ['rla', 'resnet'] + (list(ABLATION) if args.ablation else [])
    for kind in kinds:
        torch.manual_seed(0)
        model = build_backbone(kind, depth, args.dilated).to(device)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        models[kind] = torch.compile(model) if args.compile else model
    train = summarize_rounds(time_alternating(
        {k: make_train_step(m, x, args.amp) for k, m in models.items()},
        args.repeats, args.warmup, args.min_run_time))
    infer = summarize_rounds(time_alternating(
        {k: make_inference(m, x, args.amp) for k, m in models.items()},
        args.repeats, args.warmup, args.min_run_time))
    result = {'train step (s)': train, 'inference (s)': infer}
    if not args.no_memory:
        saved = {k: saved_tensor_bytes(m, x, args.amp)
                 for k, m in models.items()}
        result['saved for backward (MiB)'] = {
            k: v / 2**20 for k, v in saved.items()}
        peak: Dict[str, float] = {}
        for kind in VARIANTS:
            if device.type == 'cuda':
                model = models.get(kind) or build_backbone(
                    kind, depth, args.dilated).to(device)
                value = peak_memory_cuda(model, x, args.amp)
            else:
                value = peak_memory_cpu(kind, depth, args.shape, args.amp,
                                        args.channels_last, args.dilated)
            peak[kind] = value / 2**20
        result['peak train memory (MiB)'] = peak
    return result


def build_detector(kind: str, device: torch.device) -> nn.Module:
    """Mask R-CNN R50-FPN from this repo's configs, from scratch.

    ``configs/mask_rcnn_r50.py`` is mmdet's COCO recipe and
    ``configs/mask_rcnn_rla_r50.py`` the same with the RLA backbone, so the
    pair shows the cost a user of those configs pays.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    import rla_mm  # noqa: F401
    register_all_modules()
    # init_weights() logs one line per parameter at INFO level.
    MMLogger.get_current_instance().setLevel('WARNING')
    name = 'mask_rcnn_rla_r50.py' if kind == 'rla' else 'mask_rcnn_r50.py'
    cfg = Config.fromfile(str(ROOT / 'configs' / name))
    cfg.model.backbone.init_cfg = None  # timing needs no pretrained weights
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    return model


def benchmark_detector(args: argparse.Namespace) -> Dict[str, dict]:
    """One Mask R-CNN training iteration (loss + backward), RLA vs ResNet."""
    from mmdet.testing import demo_mm_inputs

    device = torch.device(args.device)
    batch, _, height, width = args.detector_shape
    packed = demo_mm_inputs(
        batch, [[3, height, width]] * batch, num_items=[5] * batch,
        with_mask=True)
    fns = {}
    for kind in ('rla', 'resnet'):
        torch.manual_seed(0)
        model = build_detector(kind, device)
        data = model.data_preprocessor(packed, training=True)

        def step(model=model, data=data) -> None:
            model.train()
            losses = model.loss(data['inputs'], data['data_samples'])
            loss, _ = model.parse_losses(losses)
            loss.backward()
            model.zero_grad(set_to_none=True)

        fns[kind] = step
    train = summarize_rounds(
        time_alternating(fns, max(args.repeats // 2, 3), 1,
                         args.min_run_time))
    return {'Mask R-CNN train iter (s)': train}


def format_table(title: str, result: Dict[str, dict]) -> str:
    """Rows of RLA and ResNet values with their ratio.

    Timed rows show the median of per-round ratios and, in the last column,
    their range over rounds.
    """
    lines = [f'\n{title}',
             f'{"measure":<28}{"RLA":>12}{"ResNet":>12}{"ratio":>8}'
             f'{"RLA+cp":>12}{"ratio":>8}{"rounds":>14}']
    for measure, values in result.items():
        rla, base = values['rla'], values['resnet']
        ratio = values.get('ratio', rla / base)
        row = f'{measure:<28}{rla:>12.4g}{base:>12.4g}{ratio:>8.3f}'
        if 'rla_cp' in values:
            row += f'{values["rla_cp"]:>12.4g}' \
                   f'{values["rla_cp"] / base:>8.3f}'
        if 'ratio_min' in values:
            spread = f'{values["ratio_min"]:.3f}-{values["ratio_max"]:.3f}'
            row += f'{"":>20}{spread:>14}'
        lines.append(row)
    return '\n'.join(lines)


def format_ablation(result: Dict[str, dict]) -> str:
    """Ratio to ResNet of RLA-ResNet and of each ``ABLATION`` variant."""
    timed = [m for m in result if 'ratio' in result[m]]
    lines = ['\nablation: fast paths switched off cumulatively, ratio to '
             'ResNet (median, range over rounds)',
             f'{"variant":<20}' + ''.join(f'{m:>34}' for m in timed)]
    saved = result.get('saved for backward (MiB)')
    if saved:
        lines[-1] += f'{"saved for backward":>22}'
    for variant in ['rla'] + list(ABLATION):
        suffix = '' if variant == 'rla' else f' {variant}'
        cells = ''
        for measure in timed:
            v = result[measure]
            cells += (f'{v["ratio" + suffix]:>18.3f} '
                      f'({v["ratio_min" + suffix]:.3f}-'
                      f'{v["ratio_max" + suffix]:.3f})')
        if saved:
            cells += f'{saved[variant] / saved["resnet"]:>22.3f}'
        lines.append(f'{variant:<20}{cells}')
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='RLA-ResNet vs ResNet: time and memory, side by side.')
    parser.add_argument('--depths', type=int, nargs='+', default=[50])
    parser.add_argument('--shape', type=int, nargs=4, default=None,
                        metavar=('N', 'C', 'H', 'W'),
                        help='input shape (default 2 3 512 512 on CPU, '
                        '2 3 800 1344 on GPU)')
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--repeats', type=int, default=11,
                        help='rounds; single rounds vary by +-10%% on a '
                        'shared machine')
    parser.add_argument('--warmup', type=int, default=2,
                        help='calls of each model before the first round '
                        '(each measurement also makes one warm-up call)')
    parser.add_argument('--min-run-time', type=float, default=0.0,
                        help='seconds each model runs per round '
                        '(torch.utils.benchmark\'s blocked_autorange); 0: '
                        'one measured call')
    parser.add_argument('--amp', action='store_true',
                        help='autocast (fp16 on CUDA, bf16 on CPU)')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile both models')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads (default: torch\'s default). One '
                        'thread keeps OpenMP barriers out of the ratio when '
                        'other processes share the cores')
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument('--dilated', action='store_true',
                        help='output stride 8 (strides 1 2 1 1, dilations '
                        '1 1 2 4, contract_dilation) against '
                        'MMSegmentation\'s ResNet of the same dilation')
    parser.add_argument('--ablation', action='store_true',
                        help='also time RLA-ResNet with its fast paths '
                        'switched off one by one, in the same rounds')
    parser.add_argument('--detector', action='store_true',
                        help='also time a full Mask R-CNN training iteration')
    parser.add_argument('--detector-shape', type=int, nargs=4,
                        default=[2, 3, 512, 512])
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--_memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.shape is None:
        args.shape = [2, 3, 800, 1344] if args.device.startswith('cuda') \
            else [2, 3, 512, 512]
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args._memory_child:
        print(peak_memory_cpu_child(**json.loads(args._memory_child)))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' \
        else f'CPU ({torch.get_num_threads()} threads)'
    print(f'device: {name} | torch {torch.__version__} | input '
          f'{"x".join(map(str, args.shape))} | amp={args.amp} '
          f'channels_last={args.channels_last} compile={args.compile} '
          f'dilated={args.dilated} | medians of {args.repeats}')
    results = {}
    for depth in args.depths:
        results[f'R{depth}'] = benchmark_pair(depth, args)
        print(format_table(f'RLA-ResNet-{depth} vs ResNet-{depth}',
                           results[f'R{depth}']), flush=True)
        if args.ablation:
            print(format_ablation(results[f'R{depth}']), flush=True)
    if args.detector:
        results['mask_rcnn'] = benchmark_detector(args)
        print(format_table('Mask R-CNN R50-FPN: RLA vs ResNet backbone',
                           results['mask_rcnn']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
