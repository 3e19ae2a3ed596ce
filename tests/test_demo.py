"""The README's first command, in a shortened mode: every stage runs and the table is written."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.e2e


def restore_from(step_dir):
    """The weights a training step started from, as its saved config says."""
    return yaml.safe_load((step_dir / 'config.yaml').read_text())['TRAIN']['RESTORE_FROM']


# The shortened demo's table and a digest of its 8 models' weights. Pinned (CPU_PIN), a process
# computes the same bits on any number of cores, so they hold for one MindSpore build (the
# version requirements.txt tests) under ONEDNN_MAX_CPU_ISA=AVX2 (scripts/run_tests.sh); a
# change of the code that moves them has changed what the demo computes.
# Regenerating them is legitimate only when the arithmetic is meant to change: another
# MindSpore (or numpy, OpenCV) version, or a change of the method or a fix whose commit message
# says so. Never to make a refactoring pass. To regenerate, run the shortened demo and read
# the table from exp/results.json and the digest from `weights_digest`:
#   DDM_DEMO_DIR=/tmp/demo bash scripts/run_demo_cpu.sh --opts TRAIN.EARLY_STOP=4 \
#       TRAIN.MAX_ITERS=4 TRAIN.SAVE_PRED_EVERY=2 TRAIN.EVAL_EVERY=2
#   .venv/bin/python -c "import pathlib, sys; sys.path[:0] = ['.', 'tests']; \
#       from test_demo import weights_digest; print(weights_digest(pathlib.Path('/tmp/demo/exp')))"
EXPECTED_ROUNDS = {1: (12.46, 10.95, 12.55, 4.91), 2: (12.97, 7.25, 9.08, 5.02)}
EXPECTED_BASELINES = {'target_only': 12.16, 'source_only': 9.10, 'adaptseg': 11.79}
EXPECTED_WEIGHTS = '7ad95b6bb4b3dc55'
MODELS = ('baselines/source_only', 'baselines/target_only', 'round1/teacher_rl',
          'round1/teacher_sl', 'round1/student', 'round2/teacher_rl', 'round2/teacher_sl',
          'round2/student')


def weights_digest(exp):
    """The first 16 hex digits of a SHA-256 over every model's final weights."""
    from utils.checkpoint import read_checkpoint
    digest = hashlib.sha256()
    for model in MODELS:
        params = read_checkpoint(str(exp / model / 'final.ckpt'))
        for name in sorted(k for k in params if not k.startswith('meta.')):
            digest.update(name.encode())
            digest.update(params[name].asnumpy().tobytes())
    return digest.hexdigest()[:16]


def test_demo_runs_every_stage_and_writes_the_table(tmp_path):
    env = dict(os.environ, DDM_DEMO_DIR=str(tmp_path / 'demo'))
    result = subprocess.run(
        ['bash', 'scripts/run_demo_cpu.sh', '--opts', 'TRAIN.EARLY_STOP=4',
         'TRAIN.MAX_ITERS=4', 'TRAIN.SAVE_PRED_EVERY=2', 'TRAIN.EVAL_EVERY=2'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    exp = tmp_path / 'demo' / 'exp'
    table = json.loads((exp / 'results.json').read_text())
    assert {row['round']: tuple(row[c] for c in ('teacher_rl', 'teacher_sl', 'ensemble',
                                                  'student'))
            for row in table['rounds']} == EXPECTED_ROUNDS
    assert table['baselines'] == EXPECTED_BASELINES
    assert weights_digest(exp) == EXPECTED_WEIGHTS
    events = json.loads((exp / 'manifest.json').read_text())['events']
    # Each step the pipeline gave to a worker holding its graph (compiled ahead while the
    # source-only model trained, or for an earlier round) trained on that graph
    # (engine/schedule.py); which steps those are depends on which worker is free first.
    on_held_graph = [e['step'] for e in events
                     if e['event'] == 'started' and e.get('graph') == 'held']
    assert on_held_graph, events
    assert result.stdout.count('the training step was compiled before in this process') == len(
        on_held_graph)
    finished = {e['step'] for e in events if e['event'] == 'finished'}
    for r in (1, 2):
        for model in ('teacher_rl', 'teacher_sl', 'student'):
            assert {f'round{r}/{model}', f'round{r}/eval_{model}'} <= finished
        assert f'round{r}/eval_ensemble' in finished
    assert {'round1/pseudo', 'baselines/target_only', 'baselines/source_only',
            'baselines/adaptseg'} <= finished
    results = json.loads((exp / 'results.json').read_text())
    assert len(results['rounds']) == 2 and set(results['baselines']) == {
        'target_only', 'source_only', 'adaptseg'}
    assert 'target-only baseline' in result.stdout and '| 2 |' in result.stdout
    # TRAIN.SOURCE_PRETRAINING: the source-only model comes first, from random weights, and
    # every other model starts from it (the demo's stand-in for ImageNet weights)
    started = [e['step'] for e in events if e['event'] == 'started']
    assert started[0] == 'baselines/source_only', started
    source_only = str(exp / 'baselines' / 'source_only' / 'final.ckpt')
    assert restore_from(exp / 'baselines' / 'source_only') == ''
    for step_dir in ('baselines/target_only', 'round1/teacher_rl', 'round1/teacher_sl',
                     'round1/student', 'round2/teacher_sl', 'round2/student'):
        assert restore_from(exp / step_dir) == source_only, step_dir
    predictions = exp / 'round2' / 'eval_student_pred' / 'color'
    assert len(os.listdir(predictions)) == 20
    assert len((tmp_path / 'demo' / 'train_labeled_10.txt').read_text().split()) == 10

    # bench/demo_time.py splits this run's time: every training step has its compile time
    log = tmp_path / 'demo.log'
    log.write_text(result.stdout)
    bench = subprocess.run([sys.executable, 'bench/demo_time.py', '--out', str(tmp_path / 'demo'),
                            '--log', str(log)], cwd=ROOT, capture_output=True, text=True)
    assert bench.returncode == 0, bench.stderr
    split = json.loads(bench.stdout.splitlines()[-1])
    assert split['totals']['compiling (first training step)'] > 0
    assert split['totals']['evaluation'] > 0 and split['totals']['pseudo-labelling'] > 0
    # PIPELINE_JOBS 2 (demo_cpu.yaml): steps overlapped, and each counts whole in the work
    overlap = sum((int(k) - 1) * seconds for k, seconds in split['at_once'].items())
    assert split['at_once'].get('2', 0) > 0
    assert sum(split['totals'].values()) == pytest.approx(sum(split['wall'].values()) + overlap,
                                                          abs=0.5)
    assert '| round2/student |' in bench.stdout and split['machine']['cores'] == os.cpu_count()
