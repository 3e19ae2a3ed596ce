"""The pipeline's manifest: its settings and every finished step, so that the same command
after a kill resumes at the first unfinished step (self_train.py)."""
import json
import os
import time

from engine.trainer import schedule_for_devices
from utils.checkpoint import final_checkpoint_problem
from utils.device import current_device
from utils.distributed import current_rank
from utils.errors import DDMError
from utils.serialization import atomic_write_json


class Manifest:
    """manifest.json: the run's settings and every finished step with its output.

    A step counts as finished while its output is whole (`finished(output)`). That the folder
    holds a pipeline of these settings is the RunDir's part (main). Every rank reads it; rank 0
    alone writes it.
    """

    def __init__(self, path, settings, label=''):
        self.path, self.label = path, label  # label: which pipeline, when several run at once
        self.rank = current_rank()[0]
        self.data = {'settings': settings, 'steps': {}, 'events': []}
        if os.path.isfile(path):
            self.data = read_manifest(path)

    def run(self, name, output, work, finished=os.path.exists):
        """`work()` -> result (JSON-ready), unless `name` finished before and `output` is
        `finished`."""
        if self.finished_before(name, finished):
            return self.result(name)
        self.event(name, 'started')
        result = work()
        self.record(name, output, result, ' '.join(map(str, current_device())))
        return result

    def finished_before(self, name, finished=os.path.exists):
        """Whether `name` finished in an earlier run and its output is still `finished` (the
        step is then skipped, and says so)."""
        done = self.data['steps'].get(name)
        if done and finished(done['output']):
            self.event(name, 'skipped (finished before)')
            return True
        return False

    def record(self, name, output, result, device):
        """`name` finished on `device` ('Ascend 3'), writing `output`, with `result`."""
        self.data['steps'][name] = {'output': output, 'result': result, 'device': device,
                                    'finished': time.time()}
        self.event(name, 'finished', device=device)

    def result(self, name):
        """The result of a finished step, else None."""
        return self.data['steps'].get(name, {}).get('result')

    def event(self, name, what, **details):
        """`what` happened to step `name` (with `details`, e.g. the worker, the device)."""
        self.data['events'].append({'step': name, 'event': what, 'time': time.time(),
                                    **details})
        if self.rank == 0:
            said = ', '.join(f'{k} {v}' for k, v in details.items())
            print(f'[pipeline] {self.label}{name}: {what}' + (f' ({said})' if said else ''),
                  flush=True)
            atomic_write_json(self.path, self.data)


class ManifestSet:
    """The manifests of several pipelines whose steps run as one set (self_train.py with
    several budgets): a step named 'LABEL/round1/student' is step 'round1/student' of the
    manifest of LABEL, where its events and result are kept."""

    def __init__(self, manifests):
        self.manifests = manifests  # {label: Manifest}
        self.rank = current_rank()[0]

    def _of(self, name):
        label, _, step = name.partition('/')
        return self.manifests[label], step

    def run(self, name, output, work, finished=os.path.exists):
        manifest, step = self._of(name)
        return manifest.run(step, output, work, finished)

    def finished_before(self, name, finished=os.path.exists):
        manifest, step = self._of(name)
        return manifest.finished_before(step, finished)

    def record(self, name, output, result, device):
        manifest, step = self._of(name)
        manifest.record(step, output, result, device)

    def result(self, name):
        manifest, step = self._of(name)
        return manifest.result(step)

    def event(self, name, what, **details):
        manifest, step = self._of(name)
        manifest.event(step, what, **details)


def final_checkpoint_of(stage, cfg):
    """`finished` for a training step: its final.ckpt reads whole, of `stage`, at EARLY_STOP
    (divided by the device count with TRAIN.MULTI_DEVICE same_images)."""
    stop = schedule_for_devices(cfg, current_rank()[1])[0].TRAIN.EARLY_STOP
    return lambda path: final_checkpoint_problem(path, stage, stop) is None


def read_manifest(path):
    """A run's manifest as written, or a DDMError naming the file."""
    with open(path) as f:
        try:
            saved = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DDMError(f'{path} is not valid JSON ({e}); move it away to rerun the '
                           f'steps, or use another --exp_dir') from None
    if not (isinstance(saved, dict) and {'settings', 'steps', 'events'} <= set(saved)):
        raise DDMError(f'{path} is not a manifest of self_train.py (settings, steps, events); '
                       f'use another --exp_dir')
    return saved
