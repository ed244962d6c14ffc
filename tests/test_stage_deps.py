"""dvc.yaml declares what each stage reads: every synthclf module its script imports (directly or through
other modules), the repository files those modules read by a fixed path, and exactly the params its code
reads. A missing dependency lets `dvc repro` keep a result whose code changed; a param the stage never
reads reruns it (retrains, asks the LLM again) for nothing. The lists in dvc.yaml are written by hand and
these tests keep them true, reading the code with `ast` only: nothing here imports the modules it checks."""

from __future__ import annotations

import ast
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "synthclf"
# The params module: its classes describe params.yaml, and LOADER returns the whole file validated.
PARAMS_MODULE = f"{PACKAGE}.params"
ROOT_CLASS = "Params"
LOADER = "load_params"
PARAMS_FILE = "params.yaml"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

ParamPath = tuple[str, ...]
Schema = Mapping[str, Mapping[str, str | None]]


# --- Files -----------------------------------------------------------------------------------------


def module_file(module: str, src: Path) -> Path | None:
    """The file that defines ``module`` (``pkg/mod.py`` or ``pkg/mod/__init__.py``), if it is one."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(tree: ast.Module, package: str | None) -> set[str]:
    """The dotted names every import in ``tree`` may load, at any depth (an import inside a function runs
    too). ``from a import b`` names ``a`` and, in case ``b`` is a submodule, ``a.b``; ``package`` is the
    package a relative import starts from (None for a script)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                assert package is not None, "a relative import outside a package"
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def stage_modules(script: Path, src: Path) -> dict[str, Path]:
    """Every module of PACKAGE that running ``script`` imports, with its file: the modules it names, the
    packages above them (importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py``), and so on."""
    found: dict[str, Path] = {}
    pending: list[tuple[Path, str | None]] = [(script, None)]
    while pending:
        path, package = pending.pop()
        for name in imported_names(ast.parse(path.read_text(encoding="utf-8")), package):
            parts = name.split(".")
            if parts[0] != PACKAGE:
                continue
            for depth in range(1, len(parts) + 1):
                module = ".".join(parts[:depth])
                file = module_file(module, src)
                if file is None or module in found:
                    continue
                found[module] = file
                pending.append((file, module if file.name == "__init__.py" else module.rpartition(".")[0]))
    return found


def fixed_paths(tree: ast.Module, root: Path) -> dict[str, str]:
    """Repository files and folders a module reads by a fixed path: its module-level constants
    ``NAME = Path("...")`` that name one (params.yaml aside: its values are declared as params)."""
    paths = {}
    for node in tree.body:
        match node:
            case ast.Assign(
                targets=[ast.Name(id=name)],
                value=ast.Call(func=ast.Name(id="Path"), args=[ast.Constant(value=str(text))]),
            ):
                path = Path(text).as_posix()
                if path not in (".", PARAMS_FILE) and (root / path).exists():
                    paths[name] = path
    return paths


def referenced(node: ast.AST) -> set[str]:
    """The names code under ``node`` reads: variables, and attributes (``x.load`` may call any ``load``)."""
    return {
        n.id if isinstance(n, ast.Name) else n.attr
        for n in ast.walk(node)
        if (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)) or isinstance(n, ast.Attribute)
    }


def used_names(script: ast.Module, modules: Collection[ast.Module]) -> set[str]:
    """The names a script's run may read: those of the script and of the modules' import-time code, then
    those of every function or class so named, and so on. By name only, so it errs towards more: it
    keeps a module's data file off a stage that imports the module for an unrelated function."""
    defined: dict[str, list[ast.AST]] = {}
    import_time: list[ast.AST] = [script]
    for tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, DEFINITIONS):
                defined.setdefault(node.name, []).append(node)
        import_time += [node for node in tree.body if not isinstance(node, DEFINITIONS)]
    used: set[str] = set()
    pending = [name for node in import_time for name in referenced(node)]
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending += [found for node in defined.get(name, []) for found in referenced(node)]
    return used


def covered(path: str, deps: Collection[str], folder: bool) -> bool:
    """Whether ``deps`` cover ``path``: a dep that is the path or a folder above it; for a folder of data
    files, also a dep inside it (a stage that reads ``tasks/<its task>.yaml`` depends on that one only)."""
    return any(
        dep == path or path.startswith(dep.rstrip("/") + "/") or (folder and dep.startswith(path + "/"))
        for dep in deps
    )


def stages(root: Path) -> dict[str, dict[str, Any]]:
    return yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def stage_script(stage: Mapping[str, Any], root: Path) -> Path:
    """The Python file a stage's ``cmd`` runs (``python stages/X.py ${item.task}``)."""
    return root / next(word for word in shlex.split(stage["cmd"]) if word.endswith(".py"))


def needed_files(script: Path, root: Path) -> dict[str, bool]:
    """What a stage script reads from the repository, as paths relative to ``root`` -> is it a folder:
    the script, the PACKAGE modules it imports, and the files those read by a fixed path it may use."""
    trees = {
        file: ast.parse(file.read_text(encoding="utf-8")) for file in stage_modules(script, root / "src").values()
    }
    used = used_names(ast.parse(script.read_text(encoding="utf-8")), trees.values())
    needed = {script.relative_to(root).as_posix(): False}
    for file, tree in trees.items():
        needed[file.relative_to(root).as_posix()] = False
        for name, path in fixed_paths(tree, root).items():
            if name in used:
                needed[path] = (root / path).is_dir()
    return needed


def missing_deps(root: Path) -> list[tuple[str, str]]:
    """(stage, path) for every file a stage reads that none of its deps covers."""
    missing = []
    for name, stage in stages(root).items():
        deps = stage.get("deps", [])
        for path, folder in sorted(needed_files(stage_script(stage, root), root).items()):
            if not covered(path, deps, folder):
                missing.append((name, path))
    return missing


def stale_deps(root: Path) -> list[tuple[str, str]]:
    """(stage, dep) for every dep under src/ or stages/ that names nothing: a renamed or deleted module."""
    return [
        (name, dep)
        for name, stage in stages(root).items()
        for dep in stage.get("deps", [])
        if dep.startswith(("src/", "stages/")) and "${" not in dep and not (root / dep).exists()
    ]


def extra_deps(root: Path) -> list[tuple[str, str]]:
    """(stage, dep) for every dep under src/ or stages/ that holds a Python file the stage does not run:
    an edit there would rerun it for nothing. (Data deps are not checked: data is read by name.)"""
    extra = []
    for name, stage in stages(root).items():
        needed = needed_files(stage_script(stage, root), root)
        for dep in stage.get("deps", []):
            if not dep.startswith(("src/", "stages/")) or "${" in dep:
                continue
            # A dep that names nothing is stale_deps' to report.
            code = [root / dep] if (root / dep).is_file() else sorted((root / dep).rglob("*.py"))
            if any(file.relative_to(root).as_posix() not in needed for file in code):
                extra.append((name, dep))
    return extra


# --- Params ----------------------------------------------------------------------------------------


def annotated_class(annotation: ast.expr | None, classes: Collection[str]) -> str | None:
    """The params class an annotation names (``X``, ``"X"``, ``X | None``); None for any other."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotated_class(ast.parse(annotation.value, mode="eval").body, classes)
    if isinstance(annotation, ast.Name):
        return annotation.id if annotation.id in classes else None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        named = {annotated_class(annotation.left, classes), annotated_class(annotation.right, classes)} - {None}
        return named.pop() if len(named) == 1 else None
    return None


def params_schema(params_module: Path) -> dict[str, dict[str, str | None]]:
    """Every class of the params module -> its fields (inherited ones too) -> the params class a field
    holds, or None for a value (a number, a string, a list)."""
    classes = {
        node.name: node for node in ast.parse(params_module.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    }

    def fields(name: str) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for base in classes[name].bases:
            if isinstance(base, ast.Name) and base.id in classes:
                found.update(fields(base.id))
        for node in classes[name].body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found[node.target.id] = annotated_class(node.annotation, classes)
        return found

    return {name: fields(name) for name in classes}


def argument_classes(node: ast.AST, classes: Collection[str]) -> dict[str, str]:
    """A function's arguments annotated with a params class -> that class; for a class, those of its
    ``__init__`` and its annotated attributes (a dataclass's constructor arguments)."""
    if isinstance(node, ast.ClassDef):
        found = {}
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                found[item.target.id] = annotated_class(item.annotation, classes)
            elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
                found.update(argument_classes(item, classes))
        return {name: cls for name, cls in found.items() if cls}
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return {a.arg: cls for a in arguments if (cls := annotated_class(a.annotation, classes))}


@dataclass(frozen=True)
class Section:
    """A params object in code: its class, where it sits in params.yaml, and the fields that
    ``model_copy(update=...)`` replaced (their values no longer come from params.yaml)."""

    cls: str
    path: ParamPath
    replaced: frozenset[str] = frozenset()


class ParamReads:
    """Which params a piece of code reads, following params objects by their type annotations.

    An object read field by field (``params.train.seeds``) reads those fields. One handed to a function
    of ``trees`` that takes its class reads whatever the functions of ``trees`` that take that class
    read of it. One used in any other way (stored, dumped, handed to other code) reads all its fields."""

    def __init__(self, schema: Schema, trees: Collection[ast.Module]):
        self.schema = schema
        self.trees = trees
        # Function or class name -> the params classes it takes (by name: a method may share its name).
        self.takes: dict[str, set[str]] = {}
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, DEFINITIONS) and node.name not in schema:
                    self.takes.setdefault(node.name, set()).update(argument_classes(node, schema).values())
        self.by_class: dict[str, set[ParamPath]] = {}
        self.following: set[str] = set()

    def whole(self, section: Section) -> set[ParamPath]:
        if not section.replaced:
            return {section.path}
        return {section.path + (f,) for f in self.schema[section.cls] if f not in section.replaced}

    def of_class(self, cls: str) -> set[ParamPath]:
        """What the code reads of any object of ``cls`` it receives, relative to the object (``()``:
        all of it)."""
        if cls in self.following:
            # Already being collected: the scan in progress visits every function that takes a `cls`.
            return set()
        if cls not in self.by_class:
            self.following.add(cls)
            reads: set[ParamPath] = set()
            for tree in self.trees:
                for node in ast.walk(tree):
                    if isinstance(node, ast.ClassDef) and node.name not in self.schema:
                        if any(
                            isinstance(item, ast.AnnAssign) and annotated_class(item.annotation, self.schema) == cls
                            for item in node.body
                        ):
                            reads.add(())  # an attribute holds it: what is read of it later is out of sight
                    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        named = argument_classes(node, self.schema)
                        if typed := {name: Section(cls, ()) for name, held in named.items() if held == cls}:
                            reads |= self.scope(node, typed)
            self.following.discard(cls)
            self.by_class[cls] = reads
        return self.by_class[cls]

    def section_of(self, expr: ast.expr, typed: Mapping[str, Section]) -> Section | None:
        """The params object ``expr`` evaluates to, if it is one."""
        if isinstance(expr, ast.Name):
            return typed.get(expr.id)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == LOADER:
            return Section(ROOT_CLASS, ())
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "model_copy":
            copied = self.section_of(expr.func.value, typed)
            return copied and replace(copied, replaced=copied.replaced | updated_fields(expr))
        if isinstance(expr, ast.Attribute) and (owner := self.section_of(expr.value, typed)):
            held = self.schema[owner.cls].get(expr.attr)
            return Section(held, owner.path + (expr.attr,)) if held else None
        return None

    def scope(self, node: ast.AST, typed: Mapping[str, Section]) -> set[ParamPath]:
        """What the code under ``node`` reads of the objects named in ``typed``, and of any name
        assigned one (``params = load_params()``, ``proxy = params.agreement_proxy``)."""
        typed = dict(typed)
        assigned = [n for n in ast.walk(node) if isinstance(n, ast.Assign) and len(n.targets) == 1]
        while new := {
            target.id: section for n in assigned
            if isinstance(target := n.targets[0], ast.Name) and target.id not in typed
            and (section := self.section_of(n.value, typed))
        }:
            typed.update(new)
        parents = {child: parent for parent in ast.walk(node) for child in ast.iter_child_nodes(parent)}
        reads: set[ParamPath] = set()
        for name in ast.walk(node):
            if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Load) and name.id in typed:
                reads |= self.use(name, typed, parents)
        return reads

    def use(self, name: ast.Name, typed: Mapping[str, Section], parents: Mapping[ast.AST, ast.AST]) -> set[ParamPath]:
        """What one use of a params object reads: the attribute chain that starts at ``name``, then
        what becomes of the object that chain ends at."""
        section, node = typed[name.id], name
        while isinstance(parent := parents.get(node), ast.Attribute):
            fields = self.schema[section.cls]
            if parent.attr in section.replaced:
                return set()
            if parent.attr not in fields:
                if parent.attr == "model_copy" and isinstance(call := parents.get(parent), ast.Call):
                    section, node = replace(section, replaced=section.replaced | updated_fields(call)), call
                    continue
                return self.whole(section)  # model_dump() and the like
            held = fields[parent.attr]
            if held is None:
                return {section.path + (parent.attr,)}
            section, node = Section(held, section.path + (parent.attr,)), parent
        parent = parents.get(node)
        if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1:
            target = parent.targets[0]
            if isinstance(target, ast.Name) and typed.get(target.id) == section:
                return set()  # an alias: its own uses are read
        if isinstance(parent, ast.keyword):
            parent = parents.get(parent)
        handed = isinstance(parent, ast.Call) and node is not parent.func
        if handed and section.cls in self.takes.get(callee(parent), ()):
            reads: set[ParamPath] = set()
            for read in self.of_class(section.cls):
                if not read:
                    reads |= self.whole(section)
                elif read[0] not in section.replaced:
                    reads.add(section.path + read)
            return reads
        return self.whole(section)


def updated_fields(call: ast.Call) -> frozenset[str]:
    """The fields ``x.model_copy(update={...})`` replaces (the literal keys of ``update``)."""
    for keyword in call.keywords:
        if keyword.arg == "update" and isinstance(keyword.value, ast.Dict):
            return frozenset(k.value for k in keyword.value.keys if isinstance(k, ast.Constant))
    return frozenset()


def callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def class_at(schema: Schema, path: ParamPath) -> str:
    """The params class at ``path`` (a section, not a value)."""
    cls = ROOT_CLASS
    for key in path:
        held = schema[cls][key]
        assert held is not None, f"{'.'.join(path)} is a value, not a section"
        cls = held
    return cls


def outermost(paths: set[ParamPath]) -> set[ParamPath]:
    return {p for p in paths if not any(p[:i] in paths for i in range(len(p)))}


def as_declared(reads: set[ParamPath], schema: Schema, values: Mapping[str, Any]) -> list[str]:
    """``reads`` as dvc.yaml's ``params:`` should list them: a section whose every field is read as the
    section, and a key params.yaml lacks (DVC tracks only what the file holds) as the nearest key above
    it that the file has."""
    reads = outermost(reads)
    while full := {
        p[:-1] for p in reads
        if len(p) > 1 and all(p[:-1] + (f,) in reads for f in schema[class_at(schema, p[:-1])])
    }:
        reads = outermost(reads | full)

    def in_file(path: ParamPath) -> ParamPath:
        node, kept = values, ()
        for key in path:
            if not (isinstance(node, Mapping) and key in node):
                break
            node, kept = node[key], kept + (key,)
        return kept or path

    return sorted(".".join(p) for p in outermost({in_file(p) for p in reads}))


def stage_params(script: Path, root: Path, schema: Schema, values: Mapping[str, Any]) -> list[str]:
    """The params a stage script reads, through its own code and the PACKAGE modules it imports."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    modules = [ast.parse(file.read_text(encoding="utf-8")) for file in stage_modules(script, root / "src").values()]
    return as_declared(ParamReads(schema, [tree, *modules]).scope(tree, {}), schema, values)


def params_mismatches(root: Path) -> list[str]:
    module = module_file(PARAMS_MODULE, root / "src")
    assert module is not None
    schema = params_schema(module)
    values = yaml.safe_load((root / PARAMS_FILE).read_text(encoding="utf-8"))
    wrong = []
    for name, stage in stages(root).items():
        declared = sorted(stage.get("params", []))
        read = stage_params(stage_script(stage, root), root, schema, values)
        if declared != read:
            wrong.append(f"{name}: declares {declared}, reads {read}")
    return wrong


def has_key(values: Any, dotted: str) -> bool:
    for key in dotted.split("."):
        if not (isinstance(values, Mapping) and key in values):
            return False
        values = values[key]
    return True


# --- The project -----------------------------------------------------------------------------------


def test_every_stage_depends_on_the_code_it_runs():
    missing = missing_deps(ROOT)
    assert not missing, "dvc.yaml: deps missing:\n" + "\n".join(f"  {stage}: {path}" for stage, path in missing)


def test_no_stage_depends_on_code_that_is_gone():
    stale = stale_deps(ROOT)
    assert not stale, "dvc.yaml: deps that do not exist:\n" + "\n".join(f"  {s}: {dep}" for s, dep in stale)


def test_every_stage_depends_on_no_more_than_the_code_it_runs():
    extra = extra_deps(ROOT)
    assert not extra, "dvc.yaml: deps on code the stage never runs:\n" + "\n".join(f"  {s}: {dep}" for s, dep in extra)


def test_every_stage_depends_on_exactly_the_params_it_reads():
    wrong = params_mismatches(ROOT)
    assert not wrong, "dvc.yaml: params lists that differ from what the code reads:\n  " + "\n  ".join(wrong)


def test_every_declared_param_is_in_every_params_file():
    """DVC refuses to run a stage whose declared param a params file lacks; profiles are copied over
    params.yaml to run with them (tests/test_pipeline.py does)."""
    declared = {p for stage in stages(ROOT).values() for p in stage.get("params", [])}
    absent = []
    for file in [ROOT / PARAMS_FILE, *sorted((ROOT / "profiles").glob("*.yaml"))]:
        values = yaml.safe_load(file.read_text(encoding="utf-8"))
        absent += [f"  {file.relative_to(ROOT)}: {p}" for p in sorted(declared) if not has_key(values, p)]
    assert not absent, "declared params missing from a params file:\n" + "\n".join(absent)


# --- The checker itself, on a hand-made project ----------------------------------------------------


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_checker_follows_imports_and_fixed_paths(tmp_path):
    write(tmp_path, {
        "stages/run.py": "from synthclf.a import f\n\nf()\n",
        "src/synthclf/__init__.py": "",
        # A relative import, and one inside a function, of a subpackage's module.
        "src/synthclf/a.py": "from . import b\n\ndef f():\n    import synthclf.sub.c\n    return b.load()\n",
        # The stage calls load, which reads TEMPLATES; nothing it calls reads EXAMPLES.
        "src/synthclf/b.py": (
            "from pathlib import Path\n\nTEMPLATES = Path('prompts/t.yaml')\nEXAMPLES = Path('prompts/e.yaml')\n\n"
            "def load(path=TEMPLATES):\n    return path.read_text()\n\n"
            "def examples():\n    return EXAMPLES.read_text()\n"
        ),
        "src/synthclf/sub/__init__.py": "",
        "src/synthclf/sub/c.py": "",
        "src/synthclf/unused.py": "",
        "prompts/t.yaml": "",
        "prompts/e.yaml": "",
        "dvc.yaml": yaml.safe_dump({"stages": {"run": {
            "cmd": "python stages/run.py x",
            "deps": ["stages/run.py", "src/synthclf/a.py", "src/synthclf/gone.py", "src/synthclf/unused.py"],
        }}}),
    })
    assert missing_deps(tmp_path) == [
        ("run", "prompts/t.yaml"),
        ("run", "src/synthclf/__init__.py"),
        ("run", "src/synthclf/b.py"),
        ("run", "src/synthclf/sub/__init__.py"),
        ("run", "src/synthclf/sub/c.py"),
    ]
    assert stale_deps(tmp_path) == [("run", "src/synthclf/gone.py")]
    assert extra_deps(tmp_path) == [("run", "src/synthclf/unused.py")]

    # A folder covers what is under it, and is too much if it holds a module the stage does not run.
    write(tmp_path, {"dvc.yaml": yaml.safe_dump({"stages": {"run": {
        "cmd": "python stages/run.py x", "deps": ["stages/run.py", "src/synthclf", "prompts"],
    }}})})
    assert missing_deps(tmp_path) == [] and stale_deps(tmp_path) == []
    assert extra_deps(tmp_path) == [("run", "src/synthclf")]


PARAMS_PY = """
from pydantic import BaseModel

class Inner(BaseModel):
    x: int
    y: int

class Sampling(BaseModel):
    temperature: float
    max_tokens: int

class Params(BaseModel):
    seed: int
    unused: int
    inner: Inner
    sampling: Sampling
    other: Inner | None
"""

LIB_PY = """
from synthclf.params import Inner, Sampling

def use_x(inner: Inner) -> int:
    return inner.x

def send(sampling: "Sampling") -> dict:
    return sampling.model_dump()

def untyped(inner):
    return inner.x
"""


def test_param_reads_follow_objects_into_the_code_they_are_handed_to(tmp_path):
    write(tmp_path, {"src/synthclf/params.py": PARAMS_PY, "src/synthclf/lib.py": LIB_PY})
    schema = params_schema(tmp_path / "src/synthclf/params.py")
    values = {
        "seed": 0, "unused": 1, "inner": {"x": 1, "y": 2}, "sampling": {"temperature": 1, "max_tokens": 9},
        "other": {"x": 1},
    }

    def reads(stage: str) -> list[str]:
        write(tmp_path, {"stages/s.py": stage})
        return stage_params(tmp_path / "stages/s.py", tmp_path, schema, values)

    header = "from synthclf.lib import send, untyped, use_x\nfrom synthclf.params import load_params\n\n"
    header += "params = load_params()\n"
    # Handed to a function: what it reads; a field replaced by model_copy is not read from the file.
    assert reads(header + "use_x(params.inner)\nsend(params.sampling.model_copy(update={'max_tokens': 5}))\n") == [
        "inner.x", "sampling.temperature"
    ]
    # Through an alias; every field read is the section; a key the file lacks is covered by its parent.
    assert reads(header + "s = params.inner\nprint(s.x, s.y, params.seed, params.other.y)\n") == [
        "inner", "other", "seed"
    ]
    # Handed to code outside the project, or to a function that does not say it takes one: all of it.
    assert reads(header + "print(params.sampling)\nuntyped(params.inner)\n") == ["inner", "sampling"]
