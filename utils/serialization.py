"""JSON and YAML files: the released loaders, and atomic writes (a reader, or a resumed run,
never sees a half-written file)."""
import glob
import hashlib
import json
import os
import tempfile

import yaml

from utils.errors import OutputError

# mkstemp creates files readable by the owner only; results should get the usual mode.
_UMASK = os.umask(0)
os.umask(_UMASK)


def json_load(file_path):
    """The released `utils/serialization.py: json_load`."""
    with open(file_path) as f:
        return json.load(f)


def yaml_load(file_path):
    """The released `yaml_load`, with PyYAML's safe loader (the released bare `yaml.load`
    needs a Loader argument since PyYAML 6)."""
    with open(file_path) as f:
        return yaml.safe_load(f)


def path_inside(folder, name):
    """`folder/name`, refused unless it resolves inside `folder`: a name that comes from a
    list file never makes a write or a removal land anywhere else."""
    path = os.path.join(folder, name)
    if not os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep):
        raise OutputError(f'{name} would be written outside {folder} (at '
                          f'{os.path.realpath(path)}): refused')
    return path


def atomic_path(path):
    """A temporary file beside `path` (same filesystem, so os.replace is atomic).

    It keeps `path`'s extension: writers pick the format from it, and
    mindspore.save_checkpoint appends `.ckpt` to any other name.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.',
                               suffix='.tmp' + os.path.splitext(path)[1], dir=directory)
    os.close(fd)
    return tmp


def mindspore_temporary(path):
    """The name mindspore.save_checkpoint writes `path` under before its own rename: the
    extension replaced by `.tmp` (a killed or failed save leaves it behind)."""
    return os.path.splitext(path)[0] + '.tmp'


def leftover_temporaries(directory, name):
    """Temporary files of writes to `directory/name` (a glob, e.g. `iter_*.ckpt`) that never
    reached their rename (the writer was killed): `atomic_path`'s own, and the one
    mindspore.save_checkpoint makes from it."""
    # tempfile's random part: 8 characters of [a-z0-9_]
    stem = os.path.join(glob.escape(directory), '.' + name + '.' + '[a-z0-9_]' * 8 + '.tmp')
    return sorted(glob.glob(stem + os.path.splitext(name)[1]) + glob.glob(stem + '.tmp'))


def atomic_write(path, write_fn):
    """Call `write_fn(tmp_path)`, then rename the result onto `path`; remove it on failure. A
    write the system refuses (a full disk, a read-only folder) is an OutputError naming
    `path`: what was written before stays, and the same command resumes from it."""
    tmp = None
    try:
        tmp = atomic_path(path)
        write_fn(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise OutputError(f'cannot write {path}: {e.strerror or e}') from None
        raise


def atomic_write_text(path, text):
    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    atomic_write(path, write)


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2) + '\n')


def atomic_save_image(path, image):
    atomic_write(path, image.save)


def file_digest(path):
    """The SHA-256 of a file's bytes (hex); None if there is no such file, or it cannot be read
    (whatever reads it for its contents then says why, naming it)."""
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def to_plain(config):
    """Plain dicts and lists of a config, for YAML/JSON dumps and checkpoints."""
    if isinstance(config, dict):
        return {k: to_plain(v) for k, v in config.items()}
    if isinstance(config, (tuple, list)):
        return [to_plain(v) for v in config]
    return config


def dump_cfg(config, path):
    """Write the effective config as YAML (atomically: a run dir never holds half a config)."""
    atomic_write_text(path, yaml.safe_dump(to_plain(config), sort_keys=False))
