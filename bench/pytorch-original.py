#!/usr/bin/python3
"""The PyTorch original's speed on this CPU, for the side-by-side with fedmm (bench/side-by-side.sh).

Imports FedMultimodal's own model (HARClassifier with fuse_base attention) and partition code
(PartitionManager) from a checkout the user gives (usc-sail/fed-multimodal; nothing of it is in fedmm), and
times on real UCI-HAR, with torch on one thread:
  - one train step, batch 16: forward, log_softmax + NLL, backward, clip_grad_norm_(10), SGD step;
  - client updates over every shard of the paper's partition (alpha 5.0, 5 shards per subject), each as the
    original's ClientFedAvg.update_weights does it: load the global weights, a fresh SGD (lr 0.05,
    momentum 0.9, weight decay 1e-5), deepcopy of the global model, one epoch of shuffled batches of 16;
  - dev + test evaluation as the original's Server.inference does it (eval mode, batch 64, autograd on),
    and forward-only (torch.no_grad(), batch 256) as the fastest PyTorch can do the same.
Model FLOPs are not recomputed here: `fedmm bench` prints them from the same layer shapes.

Usage: /usr/bin/python3 bench/pytorch-original.py --fedmultimodal-dir /tmp/fedmultimodal --data-dir ../shared/data/uci-har
Debian's python3-torch (torch 1.13) is enough; it is never a dependency of fedmm. Its BLAS is whatever
/usr/lib/x86_64-linux-gnu/libblas.so.3 points to: Debian's reference BLAS (libblas3, ≈ 6 GFLOP/s) makes
PyTorch 3–5× slower than it can be, so install libopenblas0-pthread first (the strongest peer a user would
run); the script prints the BLAS it loaded and pins OpenBLAS to the same thread count as torch.
"""
import argparse
import copy
import json
import os
import sys
import time
import types
from pathlib import Path

THREADS_FLAG = '--threads'
_threads = sys.argv[sys.argv.index(THREADS_FLAG) + 1] if THREADS_FLAG in sys.argv[:-1] else '1'
for _var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, _threads)  # before torch loads its BLAS

import numpy as np
import torch

CHANNELS = ['body_acc_x', 'body_acc_y', 'body_acc_z', 'body_gyro_x', 'body_gyro_y', 'body_gyro_z']
WINDOW = 128


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--fedmultimodal-dir', required=True, help='checkout of usc-sail/fed-multimodal (the folder holding fed_multimodal/)')
    p.add_argument('--data-dir', required=True, help='real UCI-HAR in the compact float32 layout (<channel>_<split>.f32, y_*.txt, subject_*.txt)')
    p.add_argument('--threads', type=int, default=1, help='torch threads (default 1)')
    p.add_argument('--alpha', type=float, default=5.0, help='Dirichlet alpha of the partition (default 5.0)')
    p.add_argument('--eval-reps', type=int, default=2, help='timed dev+test evaluations per variant, after a one-batch warm-up (default 2)')
    p.add_argument('--json', action='store_true', help='print the figures as JSON')
    return p.parse_args()


def loaded_blas():
    """The BLAS shared library this process mapped (torch's Debian build calls the system libblas.so.3)."""
    with open('/proc/self/maps') as maps:
        paths = {line.split()[-1] for line in maps if 'blas' in line.rsplit('/', 1)[-1]}
    return ', '.join(sorted(os.path.realpath(p) for p in paths)) or 'none found'


def import_original(root):
    """HARClassifier and PartitionManager from the checkout (a stand-in for tqdm, which only draws progress bars)."""
    root = Path(root).resolve()
    if not (root / 'fed_multimodal' / 'model' / 'mm_models.py').exists():
        sys.exit(f'pytorch-original: {root} is not a fed-multimodal checkout (no fed_multimodal/model/mm_models.py)')
    sys.path.insert(0, str(root))
    try:
        import tqdm  # noqa: F401
    except ImportError:
        sys.modules['tqdm'] = types.SimpleNamespace(tqdm=lambda it=None, *a, **k: it)
    from fed_multimodal.model.mm_models import HARClassifier
    from fed_multimodal.features.data_partitioning.partition_manager import PartitionManager
    return HARClassifier, PartitionManager


def read_split(data_dir, split):
    """acc, gyro [n, 128, 3] float32, z-normalised per window and channel (as fedmm's loader); labels 0..5; subjects."""
    d = Path(data_dir)
    for name in [f'{c}_{split}.f32' for c in CHANNELS] + [f'y_{split}.txt', f'subject_{split}.txt']:
        if not (d / name).exists():
            sys.exit(f'pytorch-original: missing {d / name}')
    ch = [np.fromfile(d / f'{c}_{split}.f32', dtype='<f4').reshape(-1, WINDOW) for c in CHANNELS]
    x = np.stack(ch, axis=2).astype(np.float64)
    x = (x - x.mean(axis=1, keepdims=True)) / np.maximum(x.std(axis=1, keepdims=True), 1e-8)
    x = x.astype(np.float32)
    labels = np.loadtxt(d / f'y_{split}.txt', dtype=np.int64) - 1
    subjects = np.loadtxt(d / f'subject_{split}.txt', dtype=np.int64)
    return x[:, :, :3].copy(), x[:, :, 3:].copy(), labels, subjects


def partition(PartitionManager, labels, subjects, alpha):
    """The original's data_partition.py for uci-har: per subject, sorted keys, 20% dev, Dirichlet shards of the rest."""
    pm = PartitionManager(types.SimpleNamespace(num_clients=5, alpha=alpha, dataset='uci-har'))
    shards, dev = [], []
    for subject in np.unique(subjects):
        rows = sorted(np.where(subjects == subject)[0].tolist())
        keys = sorted(f'{subject}/{r}' for r in rows)
        train_keys, dev_keys = pm.split_train_dev(keys)
        rows_of = [int(k.split('/')[1]) for k in train_keys]
        for shard in pm.direchlet_partition([int(labels[r]) for r in rows_of]):
            shards.append([rows_of[i] for i in shard])
        dev += [int(k.split('/')[1]) for k in dev_keys]
    return shards, dev


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    HARClassifier, PartitionManager = import_original(args.fedmultimodal_dir)
    acc, gyro, labels, subjects = read_split(args.data_dir, 'train')
    tacc, tgyro, tlabels, _ = read_split(args.data_dir, 'test')
    shards, dev = partition(PartitionManager, labels, subjects, args.alpha)
    torch.manual_seed(8)
    np.random.seed(8)
    model = HARClassifier(num_classes=6, acc_input_dim=3, gyro_input_dim=3, en_att=True, d_hid=128, att_name='fuse_base')
    criterion = torch.nn.NLLLoss()
    A, G, Y = torch.from_numpy(acc), torch.from_numpy(gyro), torch.from_numpy(labels)
    full = torch.full((16,), WINDOW, dtype=torch.int64)

    def step(model, opt, idx):
        xa, xg, y = A[idx], G[idx], Y[idx]
        lens = full[: len(idx)]
        model.zero_grad()
        opt.zero_grad()
        out, _ = model(xa, xg, lens, lens)
        loss = criterion(torch.log_softmax(out, dim=1), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()

    # One train step, batch 16, from the first shard.
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-5)
    idx = torch.tensor(shards[0][:16])
    for _ in range(5):
        step(model, opt, idx)
    times = []
    t_end = time.perf_counter() + 3.0
    while len(times) < 30 or (time.perf_counter() < t_end and len(times) < 300):
        t = time.perf_counter()
        step(model, opt, idx)
        times.append(1e3 * (time.perf_counter() - t))
    step_ms = median(times)

    # Client updates over every shard, from the same global weights.
    global_state = copy.deepcopy(model.state_dict())
    update_ms, windows = [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for k, shard in enumerate(shards):
        t = time.perf_counter()
        model.load_state_dict(global_state)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-5)
        last_global_model = copy.deepcopy(model)  # noqa: F841 (the original keeps it for FedProx/SCAFFOLD)
        order = torch.randperm(len(shard), generator=torch.Generator().manual_seed(k))
        rows = torch.tensor(shard)[order]
        for b in range(0, len(rows), 16):
            step(model, opt, rows[b:b + 16])
        model.state_dict()
        update_ms.append(1e3 * (time.perf_counter() - t))
        windows.append(len(shard))
    update_cpu = 1e3 * (time.process_time() - cpu0) / len(shards)
    update_wall = 1e3 * (time.perf_counter() - wall0) / len(shards)

    # Dev + test evaluation.
    sets = [(A[dev], G[dev], Y[dev]), (torch.from_numpy(tacc), torch.from_numpy(tgyro), torch.from_numpy(tlabels))]
    n_eval = sum(len(s[2]) for s in sets)

    def evaluate(bs, no_grad, limit=None):
        model.eval()
        ctx = torch.no_grad() if no_grad else torch.enable_grad()
        with ctx:
            for xa, xg, y in sets:
                for b in range(0, len(y) if limit is None else limit, bs):
                    lens = torch.full((len(y[b:b + bs]),), WINDOW, dtype=torch.int64)
                    model.zero_grad()
                    out, _ = model(xa[b:b + bs], xg[b:b + bs], lens, lens)
                    criterion(torch.log_softmax(out, dim=1), y[b:b + bs]).item()

    evals = {}
    for name, bs, ng in [('original (batch 64, autograd on)', 64, False), ('no_grad, batch 256', 256, True)]:
        evaluate(bs, ng, limit=bs)
        ts = []
        for _ in range(args.eval_reps):
            t = time.perf_counter()
            evaluate(bs, ng)
            ts.append(1e3 * (time.perf_counter() - t))
        evals[name] = median(ts)

    figures = {
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': loaded_blas(), 'loadavg': os.getloadavg(),
        'train_step_ms': step_ms,
        'update_median_ms': median(update_ms), 'update_mean_wall_ms': update_wall, 'update_mean_cpu_ms': update_cpu,
        'shards': len(shards), 'mean_windows': sum(windows) / len(windows),
        'eval_windows': n_eval, 'eval_ms': evals,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"PyTorch {figures['torch']}, {figures['threads']} thread(s), BLAS {figures['blas']}; load average {' '.join(f'{x:.2f}' for x in figures['loadavg'])}")
    print(f"train step, batch 16: {step_ms:.1f} ms")
    print(f"client update ({len(shards)} shards, mean {figures['mean_windows']:.1f} windows): median {figures['update_median_ms']:.1f} ms, "
          f"mean {update_wall:.1f} ms wall, {update_cpu:.1f} ms CPU")
    for name, ms in evals.items():
        print(f"dev + test evaluation ({n_eval} windows), {name}: {ms:.0f} ms")


if __name__ == '__main__':
    main()
