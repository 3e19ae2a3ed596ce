"""The method figure (docs/method.png, drawn by scripts/method_figure.py) names code that exists:
each box's file, and the function or option it names in that file."""
import ast
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
            if option:  # '--mix region': the flag and its quoted value are in the file
                flag, value = option.split()
                with open(file) as f:
                    text = f.read()
                assert f"'{flag}'" in text and f"'{value}'" in text, (name, entry)
    assert os.path.isfile(os.path.join(ROOT, 'docs', 'method.png'))
