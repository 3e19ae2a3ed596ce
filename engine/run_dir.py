"""An output folder holds one run of one stage: marked as the project's, locked while the run
lives, refused to another stage or other settings, and never inside a dataset.

    out_dir/run.json   {"stage", "settings"}: written before anything else, so a non-empty
                       folder without it is not one this project made, and is refused
    out_dir/.lock      flock'ed by the running process, which writes its pid there; the kernel
                       drops the lock of a killed run, so the next run takes it over

Settings are JSON-ready: {'cfg': the effective config, plus what else decides the outcome,
e.g. the teachers, and 'contents': a digest of each list and checkpoint the run reads}. A
folder that holds work (anything besides run.json, .lock and config.yaml) is refused to a run
whose stage or settings differ, or whose lists or starting checkpoints changed since (named);
one without work takes the new run's record.
"""
import fcntl
import functools
import json
import os
import tempfile

from utils.distributed import current_rank, rank0_says
from utils.errors import ConfigError, OutputError
from utils.serialization import atomic_write_json, file_digest, to_plain

RECORD = 'run.json'
LOCK = '.lock'
# Files a run writes before its first result: a folder holding only these has nothing to
# resume, so another stage or other settings may take it over.
NO_WORK = (RECORD, LOCK, 'config.yaml')
# Config keys a resumed run may change: the data stream is the same for any number of loading
# workers (dataset/pipeline.py), and neither which of the machine's devices runs a step nor
# over how many threads an operator runs changes its numbers (tests/test_train_teacher.py).
# Anything else (even MODE or TRAIN.LOG_EVERY) makes another run.
RESUMABLE_WITH_OTHER = ('NUM_WORKERS', 'DEVICE_ID', 'CPU_THREADS', 'CPU_PIN', 'PIPELINE_JOBS',
                        'PIPELINE_DEVICE_IDS', 'LAUNCH_BLOCKING')
DATASET_ROOTS = ('DATA_DIRECTORY_SOURCE', 'DATA_DIRECTORY_TARGET', 'DATA_DIRECTORY_PSEUDO')
# The files a config makes a run read besides the images: the lists, the class table, the
# initial weights (and DATA_DIRECTORY_PSEUDO's list.txt).
READ_FILES = ('DATA_LIST_SOURCE', 'DATA_LIST_TARGET', 'DATA_LIST_TARGET_LABELED',
              'TEST.DATA_LIST', 'TEST.INFO', 'TRAIN.RESTORE_FROM')
CONTENTS = 'contents'


def differing_keys(old, new, prefix=''):
    """Dotted names of the keys whose values differ between two nested dicts."""
    keys = sorted(set(old) | set(new))
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differing_keys(a, b, f'{prefix}{key}.')
        elif a != b:
            out.append(prefix + key)
    return out


def run_settings(cfg, **paths):
    """The settings of a run: its config, the files it reads besides (absolute paths), and
    what each list and checkpoint it reads holds ({path: digest}): the same path with other
    contents is another run."""
    paths = {name: os.path.abspath(path) if path else '' for name, path in paths.items()}
    read = [functools.reduce(lambda node, part: node[part], key.split('.'), cfg)
            for key in READ_FILES]
    if cfg.DATA_DIRECTORY_PSEUDO:
        read.append(os.path.join(cfg.DATA_DIRECTORY_PSEUDO, 'list.txt'))
    return {'cfg': to_plain(cfg), **paths,
            CONTENTS: {os.path.abspath(path): file_digest(path)
                       for path in read + list(paths.values()) if path}}


def dataset_roots(cfg):
    """{config key: folder} of the datasets a run reads (the unset ones left out)."""
    return {key: cfg[key] for key in DATASET_ROOTS if cfg.get(key)}


def check_outside(path, roots, option):
    """Refuse an output `path` that is, or is inside, one of `roots` ({name: folder})."""
    real = os.path.realpath(path)
    for name, root in roots.items():
        root_real = os.path.realpath(root)
        if real == root_real or real.startswith(root_real + os.sep):
            raise OutputError(f'{option} {path} is inside the dataset {name} {root}: '
                              f'outputs never go into a dataset')


def check_writable(out_dir):
    """Create `out_dir` and write a block there: an unwritable or full folder fails now, not
    at the first checkpoint. The probe is an unnamed temporary file: no file of the folder,
    whatever its name, is touched."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir, buffering=0) as probe:
            probe.write(bytes(4096))
    except OSError as e:
        raise OutputError(f'output directory {out_dir} is not writable: {e.strerror}') from None


def lock_holder(folder):
    """The pid (as written) of the run that holds `folder` now, or None."""
    lock = os.path.join(folder, LOCK)
    if not os.path.isfile(lock):
        return None
    with open(lock, 'rb') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)  # let go when closed
        except BlockingIOError:
            return f.read(32).decode(errors='replace').strip() or 'unknown'
    return None


def check_not_in_use(path, option):
    """Refuse an output `path` in a run folder (or below one) while a run holds it."""
    folder = os.path.realpath(path)
    while True:
        holder = lock_holder(folder)
        if holder:
            raise OutputError(f'{option} {path} is in {folder}, in use by a run (pid {holder}): '
                              f'wait for it to end, or use another {option}')
        if folder == os.path.dirname(folder):
            return
        folder = os.path.dirname(folder)


def check_output_file(path, option, earlier_output):
    """Refuse an output file `path` that names a folder, or an existing file that
    `earlier_output(path)` does not take for an earlier output of the same kind: a result
    replaces nothing else (a checkpoint, a list, a user's file)."""
    if path.endswith(os.sep) or os.path.isdir(path):
        raise OutputError(f'{option} {path} is a folder: give the name of a file in it')
    if os.path.exists(path) and not earlier_output(path):
        raise OutputError(f'{option} {path} exists and is no earlier output of this script: '
                          f'it is never replaced; use another {option}')


def comparable(settings):
    plain = json.loads(json.dumps(settings))  # tuples as lists, as read back from run.json
    for key in RESUMABLE_WITH_OTHER:
        plain.get('cfg', {}).pop(key, None)
    return plain


class RunDir:
    """`with RunDir(out_dir, stage, settings, roots):` the folder is this run's until the end.

    Ranks other than 0 of a data-parallel group write nothing there: they check that it is
    outside the datasets and wait until rank 0 has claimed it. A rank that went on would
    create the run's subfolders (the pipeline's stages) in a folder not yet claimed, which
    rank 0 would then refuse as not this project's (tests/test_run_dir.py).
    """

    def __init__(self, path, stage, settings, roots=None, option='--out_dir'):
        self.path, self.stage, self.option = path, stage, option
        self.settings = comparable(settings)
        self._lock_fd = None
        check_outside(path, roots or {}, option)
        refused = None
        if current_rank()[0] == 0:
            try:
                self._check_ours()  # before anything is written into a folder not ours
                check_writable(path)
                self._lock()
                self._claim()
                self._write_pid()
            except BaseException as e:  # raised below, once the other ranks know
                self.release()
                refused = e
        if not rank0_says(refused is None):
            raise refused or OutputError(f'{path}: rank 0 refused this {option} (its log '
                                         f'says why)')

    def _lock(self):
        fd = os.open(os.path.join(self.path, LOCK), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors='replace').strip() or 'unknown'
            os.close(fd)
            raise OutputError(f'{self.path} is in use by another run (pid {holder}): wait for '
                              f'it to end, or use another {self.option}') from None
        self._lock_fd = fd

    def _write_pid(self):
        """Once the folder is ours: a refused run leaves the last run's pid in place."""
        os.ftruncate(self._lock_fd, 0)
        os.write(self._lock_fd, f'{os.getpid()}\n'.encode())

    def _entries(self, bookkeeping):
        """The folder's entries, less `bookkeeping` (sorted names)."""
        if not os.path.isdir(self.path):
            return []
        return sorted(set(os.listdir(self.path)) - set(bookkeeping))

    def _check_ours(self):
        found = self._entries((LOCK,))
        if found and RECORD not in found:
            raise OutputError(f'{self.path} is not empty and holds no run of this project '
                              f'(no {RECORD}; found {", ".join(found[:3])}): '
                              f'use another {self.option}')

    def _claim(self):
        """Under the lock: refuse another stage's or other settings' work, else record ours."""
        record_path = os.path.join(self.path, RECORD)
        work = self._entries(NO_WORK)
        record = None
        if os.path.isfile(record_path):
            with open(record_path) as f:
                record = json.load(f)
        new = {'stage': self.stage, 'settings': self.settings}
        if record == new:
            return
        if record is not None and work:
            if record['stage'] != self.stage:
                raise OutputError(f'{self.path} holds a {record["stage"]} run, not '
                                  f'{self.stage}: use another {self.option}')
            changed = self._changed(comparable(record['settings']))
            if changed:
                raise ConfigError(f'{self.path} holds a run with other settings; differing: '
                                  f'{", ".join(changed)} (use another {self.option})')
        atomic_write_json(record_path, new)

    def _changed(self, recorded):
        """What differs between the recorded settings and this run's: the keys, and the files
        both read whose contents changed since."""
        before, now = recorded.get(CONTENTS, {}), self.settings.get(CONTENTS, {})
        changed = [key for key in differing_keys(recorded, self.settings)
                   if not key.startswith(CONTENTS + '.')]
        return changed + [f'{path} (its contents changed since)' for path in sorted(now)
                          if path in before and before[path] != now[path]]

    def release(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the lock file stays: removing it would race a new run
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
