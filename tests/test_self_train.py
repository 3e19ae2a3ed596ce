"""Stage 3: class-balanced thresholds, and the resumable R-round pipeline."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, TINY_CFG, one_line_error, run_script
from engine.pseudo_label import (NUM_BINS, apply_thresholds, class_balanced_thresholds,
                                confidence_histogram)


def test_thresholds_hand_computed():
    # class 0: confidences 0.2, 0.4, 0.6 -> median element sorted[round(1.5)] = 0.6
    # class 1: 0.95, 0.97 -> sorted[round(1.0)] = 0.97, capped at 0.9
    # class 2: never predicted; class 3: one pixel at 0.3 -> sorted[round(0.5)=0] = 0.3
    confidence = np.array([0.2, 0.4, 0.6, 0.95, 0.97, 0.3])
    label = np.array([0, 0, 0, 1, 1, 3])
    histogram = confidence_histogram(confidence, label, 4)
    assert histogram.shape == (4, NUM_BINS) and histogram.sum() == 6
    thresholds = class_balanced_thresholds(histogram)
    np.testing.assert_allclose(thresholds[[0, 1, 3]], [0.6, 0.9, 0.3], atol=1.0 / NUM_BINS)
    assert np.isnan(thresholds[2])
    kept = apply_thresholds(confidence, label, thresholds)
    assert kept.tolist() == [255, 255, 0, 1, 1, 3]


def test_thresholds_match_the_exact_median_on_many_pixels():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.05, 1.0, 200_000)
    label = rng.integers(0, 5, 200_000)
    thresholds = class_balanced_thresholds(confidence_histogram(confidence, label, 5),
                                           cap=1.0)
    for c in range(5):
        exact = np.sort(confidence[label == c])[int(np.round((label == c).sum() * 0.5))]
        assert abs(thresholds[c] - exact) <= 1.0 / NUM_BINS


@pytest.fixture(scope='module')
def pipeline_cfg(generated, labeled_4, tmp_path_factory):
    """Short stages on the generated data, with 4 labeled target images."""
    _, data_cfg = generated
    out = tmp_path_factory.mktemp('pipeline')
    short = out / 'short.yaml'
    short.write_text('TRAIN:\n  EARLY_STOP: 6\n  MAX_ITERS: 6\n  SAVE_PRED_EVERY: 2\n'
                     '  EVAL_EVERY: 0\n')
    return ['--cfg', TINY_CFG, data_cfg, str(short), '--labeled_list', str(labeled_4),
            '--rounds', '2']


def events(exp_dir):
    with open(os.path.join(exp_dir, 'manifest.json')) as f:
        return json.load(f)['events']


def test_a_run_for_each_budget_split_and_seed_as_one_set(tmp_path, monkeypatch):
    """--num_labeled, --split and --seed with several values: one set of steps, a run for each
    (budget, split, seed) in a folder of its own with its own D_T and TRAIN.RANDOM_SEED; the
    released split with the config's seed keeps the folder name runs were made in."""
    import self_train
    ran = {}

    def fake_run_steps(manifest, steps, *args):
        ran['steps'] = [step.name for step in steps]
        return {}

    monkeypatch.setattr(self_train, 'run_steps', fake_run_steps)
    monkeypatch.setattr(self_train, 'check_inputs', lambda cfg: None)  # no Cityscapes here
    monkeypatch.setattr(self_train, 'budget_table',
                        lambda cfg, exp_dir, *rest: (os.path.basename(exp_dir),
                                                     os.path.basename(
                                                         cfg.DATA_LIST_TARGET_LABELED),
                                                     cfg.TRAIN.RANDOM_SEED))
    args = self_train.parse_args(['--cfg', TINY_CFG, '--num_labeled', '100', '200', '--split',
                                  '0', '2', '--seed', '1234', '7', '--rounds', '1',
                                  '--exp_root', str(tmp_path)])
    tables = self_train.main(args)
    assert tables[:4] == [
        ('gta2cityscapes_100', 'train_labeled_100.txt', 1234),
        ('gta2cityscapes_100_seed7', 'train_labeled_100.txt', 7),
        ('gta2cityscapes_100_split2', 'train_labeled_100_split2.txt', 1234),
        ('gta2cityscapes_100_split2_seed7', 'train_labeled_100_split2.txt', 7)]
    assert len(tables) == 8 and tables[7][0] == 'gta2cityscapes_200_split2_seed7'
    assert sorted(os.listdir(tmp_path)) == sorted(folder for folder, _, _ in tables)
    students = [name for name in ran['steps'] if name.endswith('round1/student')]
    assert students == [f'{folder}/round1/student' for folder, _, _ in tables]


@pytest.mark.parametrize('argv,needle', [
    (['--split', '1', '1', '--num_labeled', '100'], '--split: a value given twice (1 1)'),
    (['--seed', '3', '3'], '--seed: a value given twice (3 3)'),
    (['--num_labeled', '100', '--split', '0', '1', '--exp_dir', 'x'],
     "--exp_dir is one run's folder"),
])
def test_several_runs_refused_before_any_work(tmp_path, argv, needle):
    result = run_script('self_train.py', '--cfg', TINY_CFG, *argv, '--exp_root', tmp_path)
    one_line_error(result, needle)
    assert os.listdir(tmp_path) == []


@pytest.mark.e2e
def test_two_rounds_complete_and_write_the_table(pipeline_cfg, tmp_path):
    exp = tmp_path / 'exp'
    # Two steps at once, each in a worker process (engine/schedule.py)
    result = run_script('self_train.py', *pipeline_cfg, '--exp_dir', exp, '--opts',
                        'PIPELINE_JOBS=2')
    assert result.returncode == 0, result.stderr[-3000:]
    started = [line.split(': started')[0] for line in result.stdout.splitlines()
               if ': started (worker ' in line]
    assert started.index('[pipeline] round1/teacher_sl') < started.index(
        '[pipeline] round1/teacher_rl')        # the longer chain first
    table = json.loads((exp / 'results.json').read_text())
    assert [row['round'] for row in table['rounds']] == [1, 2]
    assert all(isinstance(row[m], float) for row in table['rounds']
               for m in ('teacher_rl', 'teacher_sl', 'ensemble', 'student'))
    ensemble = json.loads((exp / 'round1' / 'eval_ensemble.json').read_text())
    assert ensemble['checkpoint'] == [str(exp / 'round1' / m / 'final.ckpt')
                                      for m in ('teacher_rl', 'teacher_sl')]
    markdown = (exp / 'results.md').read_text()
    assert "| teachers' ensemble | student |" in markdown and '| 2 |' in markdown
    from PIL import Image
    assert Image.open(exp / 'results.png').size[0] > 300       # the per-round chart
    stats = json.loads((exp / 'round1' / 'pseudo' / 'stats.json').read_text())
    assert len(stats['thresholds']) == 19 and stats['num_images'] == 12
    assert not (exp / 'round2' / 'pseudo').exists()      # the last round's would feed no one
    # round 2 trained on D_T plus the pseudo-labeled D_U of round 1
    cfg_text = (exp / 'round2' / 'teacher_rl' / 'config.yaml').read_text()
    assert str(exp / 'round1' / 'pseudo') in cfg_text

    # the same command again finds everything finished
    again = run_script('self_train.py', *pipeline_cfg, '--exp_dir', exp)
    assert again.returncode == 0
    assert again.stdout.count('skipped (finished before)') == 15

    # a changed config is refused, naming the key
    refused = run_script('self_train.py', *pipeline_cfg, '--exp_dir', exp,
                         '--opts', 'TRAIN.LEARNING_RATE=0.1')
    one_line_error(refused, 'cfg.TRAIN.LEARNING_RATE')

    # checkpoints deleted after their steps finished: those steps are redone, here in this
    # process, to the same weights as in the workers
    trained = {m: read_weights(exp / m / 'final.ckpt') for m in ('round1/teacher_sl',
                                                                 'round2/student')}
    for model in trained:
        os.remove(exp / model / 'final.ckpt')
    redo = run_script('self_train.py', *pipeline_cfg, '--exp_dir', exp)
    assert redo.returncode == 0, redo.stderr[-3000:]
    assert '[pipeline] round2/student: started' in redo.stdout
    assert '[pipeline] round1/teacher_sl: started' in redo.stdout
    assert '[pipeline] round2/teacher_rl: skipped' in redo.stdout
    for model, weights in trained.items():
        again = read_weights(exp / model / 'final.ckpt')
        assert weights.keys() == again.keys()
        for name, value in weights.items():
            np.testing.assert_array_equal(value, again[name], err_msg=f'{model}: {name}')


@pytest.mark.e2e
def test_a_tiny_segformer_runs_a_round(pipeline_cfg, tmp_path):
    """MODEL.ARCH mit_tiny with DAFormer's optimisation: both teachers, the ensemble, the
    student and their evaluations; the student exports as every model does."""
    exp = tmp_path / 'exp'
    result = run_script('self_train.py', *pipeline_cfg, '--rounds', '1', '--exp_dir', exp,
                        '--opts', 'MODEL.ARCH=mit_tiny', 'TRAIN.OPTIMIZER=adamw',
                        'TRAIN.WARMUP_ITERS=2', 'TRAIN.EARLY_STOP=4', 'TRAIN.LOG_EVERY=1',
                        'PIPELINE_JOBS=2')
    assert result.returncode == 0, result.stderr[-3000:]
    row, = json.loads((exp / 'results.json').read_text())['rounds']
    assert all(isinstance(row[m], float) for m in ('teacher_rl', 'teacher_sl', 'ensemble',
                                                   'student'))
    log = [json.loads(line) for line in
           (exp / 'round1' / 'student' / 'log.jsonl').read_text().splitlines()]
    assert log[0]['loss_seg_trg_aux'] == log[0]['loss_kl_unl_aux'] == 0.0  # no aux head
    assert log[0]['lr'] < log[1]['lr']                                      # warming up
    student = exp / 'round1' / 'student' / 'final.ckpt'
    exported = run_script('export.py', '--pretrained', student, '--output', tmp_path / 'mit',
                          '--cfg', TINY_CFG, '--opts', 'MODEL.ARCH=mit_tiny')
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (tmp_path / 'mit.mindir').is_file()


def read_weights(path):
    from utils.checkpoint import read_checkpoint
    return {k: v.asnumpy() for k, v in read_checkpoint(str(path)).items()
            if not k.startswith('meta.')}


@pytest.mark.e2e
def test_mode_auto_switches_between_pynative_training_and_graph_inference(pipeline_cfg,
                                                                           tmp_path):
    """MODE auto on CPU: PyNative for the training steps, graph mode for evaluation and pseudo
    labels, all in one process, round after round. With validation during training and
    TRAIN.PASS_ON best, every next step uses the best snapshots, and the table shows them."""
    exp = tmp_path / 'exp'
    result = run_script('self_train.py', *pipeline_cfg, '--exp_dir', exp, '--opts',
                        'MODE=auto', 'TRAIN.EARLY_STOP=2', 'TRAIN.MAX_ITERS=2',
                        'TRAIN.EVAL_EVERY=1', 'TRAIN.PASS_ON=best')
    assert result.returncode == 0, result.stderr[-3000:]
    finished = {e['step'] for e in events(exp) if e['event'] == 'finished'}
    assert {'round1/pseudo', 'round2/student', 'round2/eval_student'} <= finished
    round1 = exp / 'round1'
    ensemble = json.loads((round1 / 'eval_ensemble.json').read_text())
    assert ensemble['checkpoint'] == [str(round1 / m / 'best.ckpt')
                                      for m in ('teacher_rl', 'teacher_sl')]
    stats = json.loads((round1 / 'pseudo' / 'stats.json').read_text())
    assert stats['checkpoint'] == str(round1 / 'student' / 'best.ckpt')
    rows = json.loads((exp / 'results.json').read_text())['rounds']
    for row in rows:
        for model in ('teacher_rl', 'teacher_sl', 'student'):
            best = row[f'{model}_best']
            assert best['iteration'] in (1, 2) and best['mIoU'] >= 0
    log = [json.loads(line) for line in (round1 / 'student' / 'log.jsonl').read_text().splitlines()]
    val = {r['iteration']: r['val'][metric_key] for r in log if 'val' in r
           for metric_key in ['mIoU-19']}
    assert rows[0]['student_best']['mIoU'] == pytest.approx(max(val.values()), abs=0.01)
    assert f"(best {rows[0]['student_best']['mIoU']:.2f} @" in (exp / 'results.md').read_text()


@pytest.mark.e2e
def test_killed_pipeline_resumes_without_repeating_steps(pipeline_cfg, tmp_path):
    """Killed in the student's training, after its first checkpoint: the same command skips
    the teachers, resumes the student and runs every step after it once (one round: a second
    adds steps, not cases)."""
    exp = tmp_path / 'exp'
    args = [*map(str, pipeline_cfg), '--rounds', '1', '--exp_dir', str(exp)]
    proc = subprocess.Popen([sys.executable, 'self_train.py', *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    student = exp / 'round1' / 'student'
    deadline = time.time() + 600
    while (proc.poll() is None and time.time() < deadline
           and not (student / 'checkpoints' / 'iter_000002.ckpt').is_file()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (student / 'final.ckpt').exists(), 'killed too late'
    resumed = run_script('self_train.py', *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert '[pipeline] round1/teacher_rl: skipped' in resumed.stdout
    assert '[pipeline] round1/teacher_sl: skipped' in resumed.stdout
    assert f'resumed from {student / "checkpoints" / "iter_000002.ckpt"}' in resumed.stdout
    finished = [e['step'] for e in events(exp) if e['event'] == 'finished']
    assert len(finished) == len(set(finished)) == 7, finished
    assert (exp / 'results.json').exists()


@pytest.mark.e2e
def test_ctrl_c_stops_the_workers(pipeline_cfg, tmp_path):
    """PIPELINE_JOBS 2, Ctrl-C (SIGINT to the terminal's process group) during the teachers:
    exit 130 with one line, and no worker left holding a stage's folder, so that the same
    command can resume them (as after a kill: the test above)."""
    import fcntl
    exp = tmp_path / 'exp'
    args = [*map(str, pipeline_cfg), '--rounds', '1', '--exp_dir', str(exp), '--opts',
            'PIPELINE_JOBS=2', 'TRAIN.EARLY_STOP=10', 'TRAIN.MAX_ITERS=10']
    proc = subprocess.Popen([sys.executable, 'self_train.py', *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    teacher = exp / 'round1' / 'teacher_rl'
    deadline = time.time() + 600
    while (proc.poll() is None and time.time() < deadline
           and not (teacher / 'checkpoints' / 'iter_000002.ckpt').is_file()):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert 'Traceback' not in stderr
    assert [line for line in stderr.splitlines() if line.startswith('interrupted:')] == [
        'interrupted: [pipeline] stopped: the same command skips the finished steps and '
        'resumes the others, a training step at its last checkpoint']
    # the last line (once followed by a traceback at exit and multiprocessing's warning of
    # leaked semaphores)
    assert stderr.endswith('at its last checkpoint\n'), stderr[-3000:]
    for stage in ('teacher_rl', 'teacher_sl'):  # their workers ended: the locks are free
        lock = exp / 'round1' / stage / '.lock'
        if lock.exists():
            with open(lock) as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert not (teacher / 'final.ckpt').exists(), 'interrupted too late'


@pytest.mark.e2e
def test_pseudo_only_and_ground_truth_protection(pipeline_cfg, generated, tmp_path):
    root, data_cfg = generated
    exp = tmp_path / 'exp'
    assert run_script('train_teacher.py', '--mix', 'target', '--cfg', TINY_CFG, data_cfg,
                      '--out_dir', exp, '--opts', 'TRAIN.EARLY_STOP=2', 'TRAIN.MAX_ITERS=2',
                      'TRAIN.EVAL_EVERY=0').returncode == 0
    ckpt = exp / 'final.ckpt'
    inside = os.path.join(root, 'cityscapes', 'gtFine', 'train', 'pseudo')
    one_line_error(run_script('self_train.py', '--cfg', TINY_CFG, data_cfg, '--pseudo_only',
                              '--checkpoint', ckpt, '--pseudo_dir', inside), 'gtFine')
    assert not os.path.exists(inside)
    pseudo = tmp_path / 'pseudo'
    result = run_script('self_train.py', '--cfg', TINY_CFG, data_cfg, '--pseudo_only',
                        '--checkpoint', ckpt, '--pseudo_dir', pseudo)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = (pseudo / 'list.txt').read_text().split()
    assert len(listed) == 12 and all((pseudo / 'labels' / n).is_file() for n in listed)
    from PIL import Image
    label = np.asarray(Image.open(pseudo / 'labels' / listed[0]))
    assert label.shape == (64, 128) and set(np.unique(label)) <= set(range(19)) | {255}


def test_pseudo_label_quality_against_the_ground_truth(generated, tmp_path):
    """scripts/pseudo_label_quality.py: kept share, accuracy and the oracle labels, on pseudo
    labels made from the ground truth with a band dropped and a band made wrong."""
    from dataset.cityscapes import CityscapesDataset
    from PIL import Image
    root, _ = generated
    cityscapes = os.path.join(root, 'cityscapes')
    names = open(os.path.join(cityscapes, 'cityscapes_list', 'train.txt')).read().split()[:3]
    pseudo_dir = tmp_path / 'pseudo'
    pseudo_dir.mkdir()
    (pseudo_dir / 'list.txt').write_text('\n'.join(names) + '\n')
    truth = CityscapesDataset(cityscapes, str(pseudo_dir / 'list.txt'), 'train', (1, 1),
                              (0, 0, 0), os.path.join(ROOT, 'dataset', 'cityscapes_list',
                                                      'info.json'))
    right = wrong = kept = total = 0
    for name in names:
        true = truth.read_label(truth.label_path(name))
        label = true.copy()
        label[:16] = 255                                   # dropped
        label[16:24] = np.where(true[16:24] == 0, 1, 0)    # wrong everywhere
        valid = (label != 255) & (true != 255)
        right += int((valid & (label == true)).sum())
        wrong += int((valid & (label != true)).sum())
        kept += int((label != 255).sum())
        total += label.size
        os.makedirs(pseudo_dir / 'labels' / os.path.dirname(name), exist_ok=True)
        Image.fromarray(label).save(pseudo_dir / 'labels' / name)
    oracle_dir = tmp_path / 'oracle'
    result = run_script('scripts/pseudo_label_quality.py', '--data_path', cityscapes,
                        '--pseudo_dir', pseudo_dir, '--oracle_dir', oracle_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    quality = json.loads((pseudo_dir / 'quality.json').read_text())
    assert quality['num_images'] == 3 and wrong > 0
    assert quality['kept_pixels'] == round(kept / total * 100, 2)
    assert quality['accuracy_on_kept'] == round(right / (right + wrong) * 100, 2)
    assert (oracle_dir / 'list.txt').read_text() == (pseudo_dir / 'list.txt').read_text()
    for name in names:
        label = np.asarray(Image.open(pseudo_dir / 'labels' / name))
        oracle = np.asarray(Image.open(oracle_dir / 'labels' / name))
        true = truth.read_label(truth.label_path(name))
        assert (oracle == np.where(label != 255, true, 255)).all()

    one_line_error(run_script('scripts/pseudo_label_quality.py', '--data_path', cityscapes,
                              '--pseudo_dir', pseudo_dir, '--oracle_dir', pseudo_dir),
                   '--oracle_dir')

    # pseudo labels at half the ground truth's size (Cityscapes: 1024x512 against 2048x1024)
    kept = total = 0
    for name in names:
        true = truth.read_label(truth.label_path(name))
        half = Image.fromarray(true).resize((64, 32), Image.NEAREST)
        half.save(pseudo_dir / 'labels' / name)
        kept += int((np.asarray(half) != 255).sum())
        total += 64 * 32
    result = run_script('scripts/pseudo_label_quality.py', '--data_path', cityscapes,
                        '--pseudo_dir', pseudo_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    quality = json.loads((pseudo_dir / 'quality.json').read_text())
    assert quality['accuracy_on_kept'] == 100.0
    assert quality['kept_pixels'] == round(kept / total * 100, 2)

    os.remove(pseudo_dir / 'labels' / names[0])
    one_line_error(run_script('scripts/pseudo_label_quality.py', '--data_path', cityscapes,
                              '--pseudo_dir', pseudo_dir), names[0])


@pytest.mark.e2e
def test_a_third_teacher_is_one_entry_in_train_teachers(pipeline_cfg, tmp_path):
    """ClassMix as a third teacher: the round trains it, the student learns from all three,
    the table and its chart have its column."""
    exp = tmp_path / 'exp'
    result = run_script('self_train.py', *pipeline_cfg[:-2], '--rounds', '1', '--exp_dir', exp,
                        '--opts', 'TRAIN.TEACHERS=[region,sample,class]', 'TRAIN.EARLY_STOP=2',
                        'TRAIN.MAX_ITERS=2')
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((exp / 'results.json').read_text())
    assert list(results['columns']) == ['teacher_rl', 'teacher_sl', 'teacher_cl', 'ensemble',
                                        'student']
    assert all(isinstance(results['rounds'][0][c], float) for c in results['columns'])
    assert '| class-level teacher |' in (exp / 'results.md').read_text()
    ensemble = json.loads((exp / 'round1' / 'eval_ensemble.json').read_text())
    assert len(ensemble['checkpoint']) == 3
    student = json.loads((exp / 'round1' / 'student' / 'run.json').read_text())['settings']
    assert student['teacher_cl'] == str(exp / 'round1' / 'teacher_cl' / 'final.ckpt')
    order = [e['step'] for e in events(exp) if e['event'] == 'finished']
    assert order.index('round1/teacher_cl') < order.index('round1/student')
    log = (exp / 'round1' / 'teacher_cl' / 'log.jsonl').read_text()
    assert 'loss_seg_mix_main' in log


def test_pseudo_labels_of_a_changed_checkpoint_are_refused(generated, tmp_path):
    # The same path with other weights once kept the old labels and thresholds, exit 0.
    import mindspore as ms
    from config import get_cfg
    from conftest import snapshot
    from net.deeplabv2_mindspore import build_model
    from self_train import pseudo_labels
    from utils.checkpoint import save_checkpoint
    _, data_cfg = generated
    cfg = get_cfg([TINY_CFG, data_cfg])
    checkpoint, pseudo = tmp_path / 'student.ckpt', tmp_path / 'pseudo'
    for seed in (1, 2):
        ms.set_seed(seed)
        save_checkpoint(str(checkpoint), build_model(cfg))
        if seed == 1:
            pseudo_labels(cfg, str(checkpoint), str(pseudo))
            before = snapshot(pseudo)
    one_line_error(run_script('self_train.py', '--cfg', TINY_CFG, data_cfg, '--pseudo_only',
                              '--checkpoint', checkpoint, '--pseudo_dir', pseudo),
                   f'{checkpoint} (its contents changed since)', str(pseudo))
    assert snapshot(pseudo) == before


def test_a_deleted_best_checkpoint_is_a_warning(tiny_cfg, tmp_path, capsys):
    # The table once dropped its "(best ...)" without a word.
    from self_train import round_scores
    tiny_cfg.TRAIN.EVAL_EVERY, tiny_cfg.TRAIN.EARLY_STOP = 2, 4
    scores = round_scores(tiny_cfg, {}, str(tmp_path), 1)
    assert scores['student_best'] is None
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [f'warning: {tmp_path}/round1/{model}/best.ckpt is missing: the table '
                        f'shows no best snapshot of {model}'
                        for model in ('teacher_rl', 'teacher_sl', 'student')]
    tiny_cfg.TRAIN.EVAL_EVERY = 0                   # never validated: nothing to say
    round_scores(tiny_cfg, {}, str(tmp_path), 1)
    assert capsys.readouterr().err == ''
