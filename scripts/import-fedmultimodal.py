#!/usr/bin/env python3
"""Converts the features FedMultimodal's extractors wrote into a fedmm prepared dataset.

Reads the original's tree (its `output/` folder):
  feature/<modality path>/<dataset>/[alpha<a>/][fold<k>/]<client>.pkl   one per client, plus dev.pkl, test.pkl
  partition/<dataset>/[fold<k>/]partition[_alpha<a>].json|.pkl          (optional: checked against the features)
Each feature pickle is the list its extractor dumps: one record per sample, [key, path-or-index, label, ...,
features] with the label second to last (an int, or PTB-XL's list of 5 zeros/ones) and the features last
(a [T, D] array, a [1, T, D] array, or None for a sample without that modality).

Writes `<out>/manifest.json` (+ <modality>.safetensors and labels.safetensors), or `<out>/fold<k>/...` for the
datasets with folds (CREMA-D, KU-HAR: 5; UCF101: 3). Samples are numbered client by client (clients sorted as
the original sorts them), then dev, then test. Needs numpy only.

  python3 scripts/import-fedmultimodal.py --output-dir fed-multimodal/output --dataset crema-d --out data/crema-d
  python3 scripts/import-fedmultimodal.py --output-dir fed-multimodal/output --dataset uci-har --alpha 0.1 --out data/uci-har-a01
"""
import argparse
import json
import os
import pickle
import struct
import sys

import numpy as np

FORMAT = 'fedmm-prepared-dataset'
VERSION = 1

# fedmm id -> (the original's dataset name, [(fedmm modality, feature sub-path, dim)], folds, uses alpha,
#              the modality whose folder lists the clients (dataload_manager.get_client_ids), class names
#              in the original's label order (partition_manager.fetch_label_dict))
AUDIO = ('audio', 'audio/{audio}', 80)
VIDEO = ('video', 'video/{video}', 1280)
TEXT = ('text', 'text/{text}', 512)
IMAGE = ('image', 'img/{img}', 1280)
ACC = ('acc', 'acc', 3)
GYRO = ('gyro', 'gyro', 3)


def numbered(prefix, n):
    return [f'{prefix}{i:02d}' for i in range(n)]


DATASETS = {
    'meld': ('meld', [AUDIO, TEXT], 0, False, 1, ['neutral', 'joy', 'sadness', 'anger']),
    'crema-d': ('crema_d', [AUDIO, VIDEO], 5, False, 1, ['neutral', 'happy', 'sad', 'angry']),
    'ucf101': ('ucf101', [AUDIO, VIDEO], 3, True, 1, numbered('action-', 51)),
    'mit10': ('mit10', [AUDIO, VIDEO], 0, True, 1, numbered('moment-', 10)),
    'mit51': ('mit51', [AUDIO, VIDEO], 0, True, 1, numbered('moment-', 51)),
    'uci-har': ('uci-har', [ACC, GYRO], 0, True, 0,
                ['WALKING', 'WALKING_UPSTAIRS', 'WALKING_DOWNSTAIRS', 'SITTING', 'STANDING', 'LAYING']),
    'ku-har': ('ku-har', [ACC, GYRO], 5, False, 0,
               ['Stand', 'Sit', 'Walk', 'Lay', 'Jump', 'Run', 'Stair-up', 'Stair-down']),
    'ptb-xl': ('ptb-xl', [('ecg-limb', 'I_to_AVF', 6), ('ecg-chest', 'V1_to_V6', 6)], 0, False, 1,
               ['NORM', 'MI', 'STTC', 'CD', 'HYP']),
    'hateful-memes': ('hateful_memes', [IMAGE, TEXT], 0, True, 0, ['not-hateful', 'hateful']),
    'crisis-mmd': ('crisis-mmd', [IMAGE, TEXT], 0, True, 0,
                   ['affected_individuals', 'infrastructure_and_utility_damage', 'injured_or_dead_people',
                    'missing_or_found_people', 'not_humanitarian', 'other_relevant_information',
                    'rescue_volunteering_or_donation_effort', 'vehicle_damage']),
}
# The class names above are fedmm's (its registry order); where the original numbers its classes differently
# (partition_manager.fetch_label_dict), its label k becomes fedmm's REMAP[k].
REMAP = {
    'meld': [0, 2, 1, 3],  # neutral, sadness, joy, anger
    'crema-d': [3, 2, 1, 0],  # A(ngry), S(ad), H(appy), N(eutral)
    'crisis-mmd': [4, 1, 7, 6, 5, 0, 2, 3],  # not_humanitarian, infrastructure, vehicle, rescue, other, affected, injured, missing
}
MULTI_LABEL = {'ptb-xl'}


class ImportError_(Exception):
    """A problem with the input, reported as one line naming the file (and record)."""


def alpha_str(alpha):
    # the original's str(alpha).replace('.', ''): 0.1 -> '01', 5.0 -> '50'
    return str(float(alpha)).replace('.', '')


def load_pickle(path):
    try:
        with open(path, 'rb') as f:
            return pickle.load(f)
    except FileNotFoundError:
        raise ImportError_(f'{path}: missing')
    except Exception as e:  # truncated or not a pickle
        raise ImportError_(f'{path}: not a readable pickle ({type(e).__name__}: {e})')


def feature_dir(root, original, subpath, names, alpha, fold):
    d = os.path.join(root, 'feature', subpath.format(**names), original)
    if alpha is not None:
        d = os.path.join(d, f'alpha{alpha_str(alpha)}')
    if fold is not None:
        d = os.path.join(d, f'fold{fold}')
    return d


def partition_file(root, original, alpha, fold):
    d = os.path.join(root, 'partition', original)
    if fold is not None:
        d = os.path.join(d, f'fold{fold}')
    stem = 'partition' if alpha is None else f'partition_alpha{alpha_str(alpha)}'
    for ext in ('json', 'pkl'):
        p = os.path.join(d, f'{stem}.{ext}')
        if os.path.exists(p):
            if ext == 'json':
                try:
                    with open(p) as f:
                        return p, json.load(f)
                except ValueError as e:
                    raise ImportError_(f'{p}: not valid JSON ({e})')
            return p, load_pickle(p)
    return None, None


def record_id(rec):
    return repr(rec[0]) + '|' + repr(rec[1])


def features_of(rec, path, j, dim):
    x = rec[-1]
    if x is None:
        return None
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[0] == 1:  # MMDatasetGenerator: data[0] of a [1, T, D] array
        x = x[0]
    if x.ndim == 1 and x.shape[0] == dim:  # one vector (an image feature saved flat)
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ImportError_(f'{path}: record {j}: features have shape {list(np.asarray(rec[-1]).shape)}, expected [T, {dim}]')
    if not np.all(np.isfinite(x)):
        raise ImportError_(f'{path}: record {j}: features hold NaN or infinity')
    return x.astype(np.float32)


def label_of(rec, path, j, num_classes, multi):
    y = rec[-2]
    if multi:
        v = np.asarray(y)
        if v.shape != (num_classes,) or not np.all((v == 0) | (v == 1)):
            raise ImportError_(f'{path}: record {j}: label {y!r} is not {num_classes} zeros/ones')
        return v.astype(np.uint8)
    if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, np.integer)) or not 0 <= int(y) < num_classes:
        raise ImportError_(f'{path}: record {j}: label {y!r} is not a class index in [0, {num_classes})')
    return int(y)


def read_client(dirs, dims, client, num_classes, multi, remap=None):
    """The records of one client in both modalities: [(label, [features A, features B])]."""
    paths = [os.path.join(d, f'{client}.pkl') for d in dirs]
    lists = [load_pickle(p) for p in paths]
    for p, recs in zip(paths, lists):
        if not isinstance(recs, list):
            raise ImportError_(f'{p}: holds a {type(recs).__name__}, expected the extractor\'s list of records')
        for j, rec in enumerate(recs):
            if not isinstance(rec, (list, tuple)) or len(rec) < 3:
                raise ImportError_(f'{p}: record {j} is not a [key, ..., label, features] list')
    if len(lists[0]) != len(lists[1]):
        raise ImportError_(f'{paths[1]}: {len(lists[1])} records, but {paths[0]} has {len(lists[0])}')
    out = []
    for j, (a, b) in enumerate(zip(*lists)):
        if record_id(a) != record_id(b):
            raise ImportError_(f'{paths[1]}: record {j} is {a[0]!r}/{a[1]!r} in {os.path.basename(paths[0])} but {b[0]!r}/{b[1]!r} here')
        label = label_of(a, paths[0], j, num_classes, multi)
        if not np.array_equal(label_of(b, paths[1], j, num_classes, multi), label):
            raise ImportError_(f'{paths[1]}: record {j} has label {b[-2]!r}, but {paths[0]} says {a[-2]!r}')
        if remap is not None:
            label = remap[label]
        out.append((record_id(a), label, [features_of(r, p, j, d) for r, p, d in zip((a, b), paths, dims)]))
    return out


def write_safetensors(path, tensors):
    """tensors: [(name, dtype, shape, writer)] where writer(f) writes the raw little-endian bytes."""
    size = {'F32': 4, 'I32': 4, 'U8': 1}
    header, offset = {}, 0
    for name, dtype, shape, _ in tensors:
        n = int(np.prod(shape)) * size[dtype]
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + n]}
        offset += n
    js = json.dumps(header).encode('utf8')
    js += b' ' * (-len(js) % 8)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(js)))
        f.write(js)
        for _, _, _, writer in tensors:
            writer(f)
    os.replace(tmp, path)


def import_split(args, fold, out):
    original, mods, _, _, list_modality, classes = DATASETS[args.dataset]
    multi = args.dataset in MULTI_LABEL
    names = {'audio': args.audio_feat, 'video': args.video_feat, 'text': args.text_feat, 'img': args.img_feat}
    alpha = args.alpha if DATASETS[args.dataset][3] else None
    dirs = [feature_dir(args.output_dir, original, sub, names, alpha, fold) for _, sub, _ in mods]
    dims = [d for _, _, d in mods]
    for d in dirs:
        if not os.path.isdir(d):
            raise ImportError_(f'{d}: missing (run FedMultimodal\'s feature extraction for {original} first)')
    clients = sorted(f[:-4] for f in os.listdir(dirs[list_modality]) if f.endswith('.pkl'))
    if 'test' not in clients:
        raise ImportError_(f'{dirs[list_modality]}: no test.pkl')
    train_clients = [c for c in clients if c not in ('dev', 'test')]
    order = train_clients + [c for c in ('dev', 'test') if c in clients]
    ppath, partition = partition_file(args.output_dir, original, alpha, fold)

    # pass 1: counts, lengths, labels, checks
    counts, lengths, labels = {}, [[], []], []
    for c in order:
        recs = read_client(dirs, dims, c, len(classes), multi, REMAP.get(args.dataset))
        if partition is not None and c in partition:
            want = sorted(record_id(r) for r in partition[c])
            got = sorted(r[0] for r in recs)
            if want != got:
                raise ImportError_(f'{os.path.join(dirs[0], c + ".pkl")}: its {len(got)} records differ from client {c!r} in {ppath} ({len(want)} records)')
        counts[c] = len(recs)
        for _, y, feats in recs:
            labels.append(y)
            for m in range(2):
                lengths[m].append(0 if feats[m] is None else feats[m].shape[0])
    n = len(labels)
    T = [max(1, max(l)) for l in lengths]

    # pass 2: stream the padded features of each modality
    os.makedirs(out, exist_ok=True)
    manifest_mods = []
    for m, (name, _, dim) in enumerate(mods):
        def rows(f, m=m, dim=dim):
            for c in order:
                for _, _, feats in read_client(dirs, dims, c, len(classes), multi, REMAP.get(args.dataset)):
                    row = np.zeros((T[m], dim), dtype='<f4')
                    if feats[m] is not None:
                        row[:feats[m].shape[0]] = feats[m]
                    f.write(row.tobytes())
        lens = np.asarray(lengths[m], dtype='<i4')
        write_safetensors(os.path.join(out, f'{name}.safetensors'), [
            ('features', 'F32', (n, T[m], dim), rows),
            ('lengths', 'I32', (n,), lambda f, lens=lens: f.write(lens.tobytes())),
        ])
        manifest_mods.append({'name': name, 'dim': dim, 'maxLen': T[m], 'file': f'{name}.safetensors'})
    if multi:
        y = np.stack(labels).astype(np.uint8)
        write_safetensors(os.path.join(out, 'labels.safetensors'), [('labels', 'U8', y.shape, lambda f: f.write(y.tobytes()))])
    else:
        y = np.asarray(labels, dtype='<i4')
        write_safetensors(os.path.join(out, 'labels.safetensors'), [('labels', 'I32', y.shape, lambda f: f.write(y.tobytes()))])

    at, client_rows, dev, test = 0, [], [], []
    for c in order:
        idx = list(range(at, at + counts[c]))
        at += counts[c]
        if c == 'dev':
            dev = idx
        elif c == 'test':
            test = idx
        else:
            client_rows.append({'name': c, 'train': idx, 'dev': []})
    if not client_rows:
        raise ImportError_(f'{dirs[list_modality]}: no training client pickles (only dev/test)')
    where = os.path.dirname(dirs[list_modality])
    manifest = {
        'format': FORMAT, 'version': VERSION, 'dataset': args.dataset,
        'source': f'scripts/import-fedmultimodal.py from {where}' + (f' fold{fold}' if fold else ''),
        'samples': n, 'classes': classes, 'multiLabel': multi, 'modalities': manifest_mods,
        'labels': 'labels.safetensors', 'clients': client_rows, 'dev': dev, 'test': test,
    }
    tmp = os.path.join(out, f'manifest.json.tmp-{os.getpid()}')
    with open(tmp, 'w') as f:
        json.dump(manifest, f)
        f.write('\n')
    os.replace(tmp, os.path.join(out, 'manifest.json'))
    print(f'{out}: {n} samples, {len(client_rows)} clients, {len(dev)} dev, {len(test)} test')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--output-dir', required=True, help="FedMultimodal's output folder (holds feature/ and partition/)")
    p.add_argument('--dataset', required=True, choices=sorted(DATASETS), help='fedmm dataset id')
    p.add_argument('--out', required=True, help='folder to write the prepared dataset to')
    p.add_argument('--alpha', type=float, default=None, help='Dirichlet alpha of the partition (datasets partitioned by alpha)')
    p.add_argument('--fold', type=int, default=None, help='import only this fold (default: every fold)')
    p.add_argument('--audio-feat', default='mfcc')
    p.add_argument('--video-feat', default='mobilenet_v2')
    p.add_argument('--text-feat', default='mobilebert')
    p.add_argument('--img-feat', default='mobilenet_v2')
    args = p.parse_args()
    _, _, folds, uses_alpha, _, _ = DATASETS[args.dataset]
    if uses_alpha and args.alpha is None:
        p.error(f'--alpha is required for {args.dataset} (its features live under alpha<a>/)')
    if not uses_alpha and args.alpha is not None:
        p.error(f'--alpha does not apply to {args.dataset} (naturally partitioned)')
    if args.fold is not None and not 1 <= args.fold <= max(folds, 1):
        p.error(f'--fold must be in 1..{folds} for {args.dataset}' if folds else f'{args.dataset} has no folds')
    try:
        if folds == 0:
            import_split(args, None, args.out)
        else:
            for k in ([args.fold] if args.fold else range(1, folds + 1)):
                import_split(args, k, os.path.join(args.out, f'fold{k}'))
    except ImportError_ as e:
        print(f'import-fedmultimodal: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
