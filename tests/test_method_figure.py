"""The method figure (docs/method.png, drawn by scripts/method_figure.py) names code that exists:
each box's file, and the function or option it names in that file."""
import ast
import importlib
import os
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
from method_figure import BOXES  # noqa: E402


def defined_names(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def test_every_box_names_existing_code():
    for name, box in BOXES.items():
        for entry in box[-1]:
            path, _, rest = entry.partition(':')
            path, _, option = path.partition(' ')
            file = os.path.join(ROOT, path)
            assert os.path.isfile(file), (name, entry)
            if rest:
                assert rest.strip() in defined_names(file), (name, entry)
            if option:  # '--mix region': the script's command line takes it
                flag, value = option.split()
                script = importlib.import_module(os.path.splitext(path)[0])
                assert getattr(script.parse_args([flag, value]), flag[2:]) == value, (name, entry)
    assert os.path.isfile(os.path.join(ROOT, 'docs', 'method.png'))
