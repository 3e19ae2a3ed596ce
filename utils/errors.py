"""Errors a user can fix. Scripts turn them into one line and exit code 2, no traceback."""
import sys


class DDMError(Exception):
    """Bad input: the message names the file, key or value at fault."""


class ConfigError(DDMError):
    """An unknown config key or a value of the wrong type."""


class DataError(DDMError):
    """A missing or unreadable dataset root, list file, image or label."""


class CheckpointError(DDMError):
    """A missing, corrupt or mismatched checkpoint."""


def run_cli(main, args):
    """Call `main(args)`; a DDMError becomes `error: <message>` on stderr and exit code 2."""
    try:
        return main(args)
    except DDMError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
