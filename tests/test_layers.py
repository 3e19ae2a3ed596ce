"""The house's floors: imports only run down (stage scripts -> engine -> dataset, net ->
utils), no package is imported across a floor, and no module imports itself in a circle."""
import ast
import os

from conftest import ROOT

# Floor of each part; a module imports only from lower floors or its own package.
FLOORS = {'utils': 0, 'config': 1, 'dataset': 1, 'net': 1, 'engine': 2}
STAGES = ('train_teacher', 'distill', 'self_train', 'eval', 'infer', 'export')
# The pipeline runs the stages: the one place where a stage script imports another.
PIPELINE_IMPORTS = {'self_train': {'train_teacher', 'distill', 'eval'}}


def project_modules():
    """{module name: path} of every module in the layered parts and the stage scripts."""
    modules = {name: os.path.join(ROOT, name + '.py') for name in STAGES + ('config',)}
    for package in ('utils', 'dataset', 'net', 'engine'):
        for file in os.listdir(os.path.join(ROOT, package)):
            if file.endswith('.py'):
                modules[f'{package}.{file[:-3]}'] = os.path.join(ROOT, package, file)
    return modules


def imports_of(path, modules):
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.ImportFrom) and node.module in ('dataset', 'net', 'utils',
                                                                 'engine'):
            names = [f'{node.module}.{a.name}' for a in node.names]
        found |= {n for n in names if n in modules}
    return found


def floor(module):
    if module in STAGES:
        return 3
    return FLOORS[module.split('.')[0]]


def test_imports_only_run_down_and_never_in_a_circle():
    modules = project_modules()
    graph = {m: imports_of(path, modules) - {m} for m, path in modules.items()}
    upward = []
    for module, targets in graph.items():
        package = module.split('.')[0]
        for target in targets:
            if target.split('.')[0] == package and '.' in module:
                continue
            allowed = floor(target) < floor(module) or \
                target in PIPELINE_IMPORTS.get(module, ())
            if not allowed:
                upward.append(f'{module} -> {target}')
    assert not upward, upward

    def visit(module, path):
        assert module not in path, ' -> '.join(path + [module])
        for target in graph[module]:
            visit(target, path + [module])
    for module in graph:
        visit(module, [])
