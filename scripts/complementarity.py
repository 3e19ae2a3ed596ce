"""Table 3, the teachers' complementarity: a second region-level and a second sample-level
teacher of round 1 with another seed, and every ensemble of two teachers, beside the paper.

    python scripts/complementarity.py --exp_dir experiments/gta2cityscapes_100 --seed 1

The method's premise is that two mixings err differently: an ensemble of a region-level and a
sample-level teacher should beat one of two teachers of the same mixing. Takes the run's
settings (its manifest.json) and its round-1 teachers RL and SL, trains RL' and SL' the same
way with TRAIN.RANDOM_SEED = SEED into EXP_DIR/table3_seedSEED/ (resumable), evaluates the four
teachers and the six ensembles on val, and writes table3.md and table3.json there.
"""
import argparse
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import self_train  # noqa: E402
import train_teacher  # noqa: E402
from dataset.pipeline import MIXINGS  # noqa: E402
from utils.errors import DataError, run_cli  # noqa: E402
from utils.func import primary_metric  # noqa: E402
from engine.run_dir import RunDir, dataset_roots, run_settings  # noqa: E402
from engine.trainer import start_process  # noqa: E402
from utils.serialization import atomic_write_json, atomic_write_text  # noqa: E402

# The paper's Table 3 (GTA5 -> Cityscapes, 100 labels, round 1), in its order.
PAPER = {'RL': 53.5, "RL'": 53.4, 'SL': 53.9, "SL'": 53.7,
         "E(RL, RL')": 54.1, "E(SL, SL')": 55.0, 'E(RL, SL)': 56.2, "E(RL', SL')": 56.0,
         "E(RL, SL')": 56.2, "E(RL', SL)": 55.9}
PAIRS = {"E(RL, RL')": ('RL', "RL'"), "E(SL, SL')": ('SL', "SL'"), 'E(RL, SL)': ('RL', 'SL'),
         "E(RL', SL')": ("RL'", "SL'"), "E(RL, SL')": ('RL', "SL'"), "E(RL', SL)": ("RL'", 'SL')}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--exp_dir', required=True, help='a self_train.py run with round 1')
    parser.add_argument('--seed', type=int, required=True,
                        help="TRAIN.RANDOM_SEED of RL' and SL' (not the run's)")
    return parser.parse_args(argv)


def main(args):
    cfg = self_train.read_run_cfg(args.exp_dir)
    if args.seed == cfg.TRAIN.RANDOM_SEED:
        raise DataError(f'--seed {args.seed} is the run\'s own TRAIN.RANDOM_SEED: the second '
                        'teachers would repeat the first')
    round1 = os.path.join(args.exp_dir, 'round1')
    # Table 3 is about the paper's two teachers.
    pair = {'RL': MIXINGS['region'].stage, 'SL': MIXINGS['sample'].stage}
    checkpoints = {name: self_train.passed_on(cfg, os.path.join(round1, stage))
                   for name, stage in pair.items()}
    for path in checkpoints.values():
        if not os.path.isfile(path):
            raise DataError(f'{path} not found: run round 1 of {args.exp_dir} first')
    # Round 1's teachers start where the run's did: the source-only model with
    # TRAIN.SOURCE_PRETRAINING, else RESTORE_FROM.
    start = (os.path.join(args.exp_dir, 'baselines', 'source_only', 'final.ckpt')
             if cfg.TRAIN.SOURCE_PRETRAINING else cfg.TRAIN.RESTORE_FROM)
    second = copy.deepcopy(cfg)
    second.TRAIN.RANDOM_SEED = args.seed
    out_dir = os.path.join(args.exp_dir, f'table3_seed{args.seed}')
    start_process(cfg)
    settings = run_settings(second, start=start)
    with RunDir(out_dir, 'complementarity', settings, dataset_roots(cfg)):
        manifest = self_train.Manifest(os.path.join(out_dir, 'manifest.json'), settings)
        for name, model, mix in ((f"{n}'", MIXINGS[m].stage, m)
                                 for n, m in (('RL', 'region'), ('SL', 'sample'))):
            model_dir = os.path.join(out_dir, model)
            manifest.run(model, os.path.join(model_dir, 'final.ckpt'), lambda: train_teacher.train(
                self_train.round_cfg(second, '', start), mix, model_dir),
                self_train.final_checkpoint_of(model, second))
            checkpoints[name] = self_train.passed_on(cfg, model_dir)
        members = {name: [checkpoints[name]] for name in ('RL', "RL'", 'SL', "SL'")}
        members.update({pair: [checkpoints[a], checkpoints[b]] for pair, (a, b) in PAIRS.items()})
        scores = {}
        for name, paths in members.items():
            tag = name.replace("'", '2').replace('(', '_').replace(')', '').replace(', ', '_')
            scores[name] = self_train.evaluate_step(
                cfg, manifest, f'eval_{tag}', paths[0] if len(paths) == 1 else paths,
                os.path.join(out_dir, f'eval_{tag}.json'))
    lines = ["Table 3: round-1 teachers and their ensembles, ours (the paper's, 100 labels)", '',
             '| model | ours | paper |', '|---|---|---|']
    lines += [f'| {name} | {scores[name]:.2f} | {PAPER[name]} |' for name in PAPER]
    text = '\n'.join(lines) + '\n'
    atomic_write_json(os.path.join(out_dir, 'table3.json'),
                      {'metric': primary_metric(cfg.NUM_CLASSES), 'scores': scores,
                       'paper': PAPER, 'checkpoints': checkpoints})
    atomic_write_text(os.path.join(out_dir, 'table3.md'), text)
    print(text)
    return scores


if __name__ == '__main__':
    run_cli(main, parse_args())
