"""The launch scripts in scripts/: syntax, usage, argument checks, and the commands they build.

Every run here sets DDM_DRY_RUN=1, so nothing is launched: the scripts print the command of
each rank (or of msrun) instead. Paths are relative to a tmp dir used as the working
directory, to check that the scripts make them absolute before they cd to the repo root.
"""
import glob
import os
import subprocess

import pytest

from conftest import ROOT, one_line_error

SCRIPTS = os.path.join(ROOT, 'scripts')
LAUNCHERS = ['run_standalone_train_ascend.sh', 'run_standalone_train_gpu.sh',
             'run_distribute_train_ascend.sh', 'run_distribute_train_gpu.sh',
             'run_distribute_train_cpu.sh', 'run_eval_ascend.sh', 'run_eval_gpu.sh',
             'run_eval_cpu.sh']


@pytest.fixture
def work(tmp_path):
    """A working dir with a config, a rank table, two checkpoints and a data dir."""
    for name in ('exp.yaml', 'base.yaml', 'hccl_8p.json', 'rl.ckpt', 'sl.ckpt'):
        (tmp_path / name).write_text('')
    (tmp_path / 'data').mkdir()
    return tmp_path


def launch(work, script, *args, **env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ('RANK_TABLE_FILE', 'MS_WORKER_NUM')}
    environ.update(DDM_DRY_RUN='1', DDM_LOG_DIR=str(work / 'logs'), **env)
    return subprocess.run(['bash', os.path.join(SCRIPTS, script), *args], cwd=work, env=environ,
                          capture_output=True, text=True, timeout=30)


def dry_run(work, script, *args):
    """The printed command lines; nothing was started or created."""
    result = launch(work, script, *args)
    assert result.returncode == 0, result.stderr
    assert not (work / 'logs').exists()
    return result.stdout.splitlines()


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(SCRIPTS, '*.sh'))),
                         ids=os.path.basename)
def test_bash_syntax(path):
    result = subprocess.run(['bash', '-n', path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_launcher_is_tested():
    # run_tests.sh and run_demo_cpu.sh have tests of their own (every test, test_demo.py)
    found = {os.path.basename(p) for p in glob.glob(os.path.join(SCRIPTS, 'run_*.sh'))}
    assert found - {'run_tests.sh', 'run_demo_cpu.sh'} == set(LAUNCHERS)


@pytest.mark.parametrize('script', LAUNCHERS)
@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_help(work, script, flag):
    result = launch(work, script, flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f'usage: bash scripts/{script} ')
    assert 'DDM_DRY_RUN=1' in result.stdout and 'DDM_LOG_DIR' in result.stdout


@pytest.mark.parametrize('script', LAUNCHERS)
def test_missing_arguments(work, script):
    result = launch(work, script)
    one_line_error(result, 'got 0 argument(s)')
    assert f'usage: bash scripts/{script}' in result.stderr


BAD = [  # script, arguments, what the error line must name
    ('run_standalone_train_ascend.sh', ['8', 'teacher_rl', 'exp.yaml'], "'8'"),
    ('run_standalone_train_ascend.sh', ['one', 'teacher_rl', 'exp.yaml'], "'one'"),
    ('run_standalone_train_ascend.sh', ['0', 'teacher', 'exp.yaml'], "'teacher'"),
    ('run_standalone_train_ascend.sh', ['0', 'teacher_rl', 'missing.yaml'], 'missing.yaml'),
    ('run_standalone_train_ascend.sh', ['0', 'teacher_rl', 'exp.yaml,missing.yaml'],
     'missing.yaml'),
    ('run_standalone_train_ascend.sh', ['0', 'student', 'exp.yaml', '--teacher_rl', 'rl.ckpt',
                                        '--teacher_sl', 'gone.ckpt'], 'gone.ckpt'),
    ('run_standalone_train_ascend.sh', ['0', 'student', 'exp.yaml', '--teacher_rl=gone.ckpt',
                                        '--teacher_sl', 'sl.ckpt'], 'gone.ckpt'),
    ('run_standalone_train_ascend.sh', ['0', 'student', 'exp.yaml', '--teacher_rl', 'rl.ckpt'],
     '--teacher_sl'),
    ('run_standalone_train_ascend.sh', ['0', 'pipeline', 'exp.yaml', '--pseudo_only',
                                        '--checkpoint', 'gone.ckpt'], 'gone.ckpt'),
    ('run_standalone_train_ascend.sh', ['0', 'teacher_rl', 'exp.yaml', '--device', 'CPU'],
     '--device'),
    ('run_standalone_train_gpu.sh', ['-1', 'teacher_sl', 'exp.yaml'], "'-1'"),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'missing.json'],
     'missing.json'),
    ('run_distribute_train_ascend.sh', ['teacher', 'exp.yaml', 'hccl_8p.json'], "'teacher'"),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'msrun', '--nodes', '0'],
     "'0'"),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'msrun', '--nodes', 'two'],
     "'two'"),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'msrun', '--nodes', '2',
                                        '--node_rank', '2', '--master_addr', '10.0.0.1'], "'2'"),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'msrun', '--nodes', '2',
                                        '--node_rank', '1'], '--master_addr'),
    ('run_distribute_train_ascend.sh', ['teacher_rl', 'exp.yaml', 'msrun',
                                        '--master_port', '80'], "'80'"),
    ('run_distribute_train_ascend.sh', ['pipeline', 'exp.yaml', 'hccl_8p.json', '--pseudo_only'],
     '--pseudo_only'),
    ('run_distribute_train_gpu.sh', ['teacher_rl', 'exp.yaml', '9'], "'9'"),
    ('run_distribute_train_gpu.sh', ['teacher_rl', 'exp.yaml', '0'], "'0'"),
    ('run_distribute_train_gpu.sh', ['teacher_rl', 'missing.yaml', '2'], 'missing.yaml'),
    ('run_distribute_train_cpu.sh', ['teacher_rl', 'exp.yaml', '2.5'], "'2.5'"),
    ('run_distribute_train_cpu.sh', ['teacher_rl', 'exp.yaml', '12'], "'12'"),
    ('run_distribute_train_cpu.sh', ['students', 'exp.yaml', '2'], "'students'"),
    ('run_distribute_train_cpu.sh', ['teacher_rl', 'exp.yaml', '2', '--master_addr',
                                     '10.0.0.1'], '--master_addr'),
    ('run_eval_ascend.sh', ['missing_dir', 'rl.ckpt'], 'missing_dir'),
    ('run_eval_ascend.sh', ['data', 'gone.ckpt'], 'gone.ckpt'),
    ('run_eval_ascend.sh', ['data', 'rl.ckpt', '8'], "'8'"),
    ('run_eval_gpu.sh', ['data', 'rl.ckpt', 'x1'], "'x1'"),
    ('run_eval_cpu.sh', ['missing_dir', 'rl.ckpt'], 'missing_dir'),
    ('run_eval_cpu.sh', ['data', 'rl.ckpt', '--cfg', 'missing.yaml'], 'missing.yaml'),
]


@pytest.mark.parametrize('script,args,needle', BAD,
                         ids=[f'{s}:{" ".join(a)}' for s, a, _ in BAD])
def test_bad_argument(work, script, args, needle):
    result = launch(work, script, *args)
    one_line_error(result, needle)
    assert not (work / 'logs').exists()


def test_standalone_ascend(work):
    lines = dry_run(work, 'run_standalone_train_ascend.sh', '3', 'teacher_rl', 'exp.yaml',
                    '--opts', 'TRAIN.MAX_ITERS=10')
    assert len(lines) == 1
    line = lines[0]
    assert 'python train_teacher.py --mix region --device Ascend' in line
    assert f'--cfg {work}/exp.yaml' in line
    assert 'DEVICE_ID=3 python' in line
    # argparse keeps the last --opts only: DEVICE_ID joins the user's
    assert line.count('--opts') == 1 and '--opts DEVICE_ID=3 TRAIN.MAX_ITERS=10' in line
    assert '-u RANK_TABLE_FILE' in line and '-u MS_WORKER_NUM' in line  # runs alone
    assert line.endswith(f'2>&1 | tee {work}/logs/rank_0.log')


def test_standalone_gpu_student_paths_absolute(work):
    lines = dry_run(work, 'run_standalone_train_gpu.sh', '1', 'student', 'base.yaml,exp.yaml',
                    '--teacher_rl', 'rl.ckpt', '--teacher_sl=sl.ckpt', '--out_dir', 'out')
    assert (f'python distill.py --device GPU --cfg {work}/base.yaml {work}/exp.yaml '
            f'--teacher_rl {work}/rl.ckpt --teacher_sl {work}/sl.ckpt --out_dir {work}/out '
            '--opts DEVICE_ID=1') in lines[0]


def test_rank_table(work):
    lines = dry_run(work, 'run_distribute_train_ascend.sh', 'teacher_sl', 'exp.yaml',
                    'hccl_8p.json', '--opts', 'TRAIN.EARLY_STOP=100')
    assert len(lines) == 8
    for rank, line in enumerate(lines):
        assert (f'RANK_TABLE_FILE={work}/hccl_8p.json RANK_SIZE=8 RANK_ID={rank} '
                f'DEVICE_ID={rank} python train_teacher.py --mix sample --device Ascend') in line
        assert f'--opts DEVICE_ID={rank} TRAIN.EARLY_STOP=100' in line
        assert line.endswith(f'> {work}/logs/rank_{rank}.log 2>&1 &')


def test_msrun_two_nodes(work):
    lines = dry_run(work, 'run_distribute_train_ascend.sh', 'pipeline', 'exp.yaml', 'msrun',
                    '--nodes', '2', '--node_rank', '1', '--master_addr', '10.0.0.1',
                    '--num_labeled', '100', '--split', '1', '--exp_root', 'runs')
    assert len(lines) == 1
    line = lines[0]
    assert 'msrun --worker_num=16 --local_worker_num=8 ' in line
    for part in ('--node_rank=1', '--master_addr=10.0.0.1', '--master_port=8118',
                 f'--log_dir={work}/logs', '--join=True',
                 'self_train.py --device Ascend', '--num_labeled 100 --split 1',
                 f'--exp_root {work}/runs'):
        assert part in line
    assert '-u RANK_TABLE_FILE' in line and 'DEVICE_ID' not in line


def test_msrun_one_node(work):
    line, = dry_run(work, 'run_distribute_train_ascend.sh', 'teacher_rl', 'exp.yaml', 'msrun',
                    '--master_port=9000')
    assert ('msrun --worker_num=8 --local_worker_num=8 --master_addr=127.0.0.1 '
            '--master_port=9000 --node_rank=0') in line
    assert 'train_teacher.py --mix region --device Ascend' in line


def test_gpu_msrun(work):
    line, = dry_run(work, 'run_distribute_train_gpu.sh', 'student', 'exp.yaml', '4',
                    '--teacher_rl', 'rl.ckpt', '--teacher_sl', 'sl.ckpt')
    assert 'msrun --worker_num=4 --local_worker_num=4 --master_addr=127.0.0.1' in line
    assert 'distill.py --device GPU' in line


def test_cpu_msrun(work):
    line, = dry_run(work, 'run_distribute_train_cpu.sh', 'teacher_sl', 'exp.yaml', '2')
    assert 'msrun --worker_num=2 --local_worker_num=2 --master_addr=127.0.0.1 ' in line
    assert 'train_teacher.py --mix sample --device CPU' in line
    assert 'ONEDNN_MAX_CPU_ISA=' in line


def test_eval(work):
    line, = dry_run(work, 'run_eval_ascend.sh', 'data', 'rl.ckpt', '2', '--num_classes', '16')
    assert (f'DEVICE_ID=2 python eval.py --data_path {work}/data --pretrained {work}/rl.ckpt '
            '--device Ascend --device_id 2 --num_classes 16') in line
    line, = dry_run(work, 'run_eval_gpu.sh', 'data', 'rl.ckpt', '--save_pred', 'pred')
    assert f'--device GPU --device_id 0 --save_pred {work}/pred' in line
    line, = dry_run(work, 'run_eval_cpu.sh', 'data', 'rl.ckpt')
    assert line.endswith(f'--device CPU 2>&1 | tee {work}/logs/rank_0.log')


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, '.venv', 'bin', 'python')),
                    reason='no .venv')
def test_venv_first_on_path(work):
    """msrun starts `python` from PATH: it must be the project's."""
    result = subprocess.run(['bash', '-c', f'source {SCRIPTS}/common.sh; command -v python'],
                            cwd=work, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == os.path.join(ROOT, '.venv', 'bin', 'python')
