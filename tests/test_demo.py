"""The README's first command, in a shortened mode: every stage runs and the table is written."""
import json
import os
import subprocess

from conftest import ROOT


def test_demo_runs_every_stage_and_writes_the_table(tmp_path):
    env = dict(os.environ, DDM_DEMO_DIR=str(tmp_path / 'demo'))
    result = subprocess.run(
        ['bash', 'scripts/run_demo_cpu.sh', '--opts', 'TRAIN.EARLY_STOP=4',
         'TRAIN.MAX_ITERS=4', 'TRAIN.SAVE_PRED_EVERY=2'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    exp = tmp_path / 'demo' / 'exp'
    finished = {e['step'] for e in json.loads((exp / 'manifest.json').read_text())['events']
                if e['event'] == 'finished'}
    for r in (1, 2):
        for model in ('teacher_rl', 'teacher_sl', 'student'):
            assert {f'round{r}/{model}', f'round{r}/eval_{model}'} <= finished
        assert f'round{r}/eval_ensemble' in finished
    assert {'round1/pseudo', 'baselines/target_only', 'baselines/source_only'} <= finished
    results = json.loads((exp / 'results.json').read_text())
    assert len(results['rounds']) == 2 and set(results['baselines']) == {'target_only',
                                                                         'source_only'}
    assert 'target-only baseline' in result.stdout and '| 2 |' in result.stdout
    predictions = exp / 'round2' / 'eval_student_pred' / 'color'
    assert len(os.listdir(predictions)) == 20
    assert len((tmp_path / 'demo' / 'train_labeled_10.txt').read_text().split()) == 10
