"""Errors a user can fix. Scripts turn them into one line and exit code 2, no traceback."""
import os
import signal
import sys


class DDMError(Exception):
    """Bad input: the message names the file, key or value at fault."""


class ConfigError(DDMError):
    """An unknown config key or a value of the wrong type."""


class DataError(DDMError):
    """A missing or unreadable dataset root, list file, image or label."""


class CheckpointError(DDMError):
    """A missing, corrupt or mismatched checkpoint."""


class OutputError(DDMError):
    """An output folder that is in use, holds another run, or lies inside a dataset."""


class TrainingError(DDMError):
    """A training that cannot go on: its loss is no longer finite."""


class StoppedError(DDMError):
    """A run stopped from outside (a worker process killed): the same command resumes."""


def check_file(path, what, error=DataError):
    """Raise `error` unless `path` is a file: not found, or a folder where a file belongs."""
    if os.path.isdir(path):
        raise error(f'{what} {path} is a folder, not a file')
    if not os.path.isfile(path):
        raise error(f'{what} not found: {path}')


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_cli(main, args):
    """Call `main(args)`; a DDMError becomes `error: <message>` on stderr and exit code 2, an
    interrupt one line (what the loop that was interrupted says, e.g. how to resume) and 130.
    """
    # Once its runtime is up, MindSpore answers Ctrl-C by sending the process SIGTERM, which
    # would end it without a word: both become a KeyboardInterrupt here.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return main(args)
    except DDMError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        print(f'interrupted{": " + str(e) if str(e) else ""}', file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
