"""The stable ``error`` codes each API route can answer, read from the syntax tree of the code it runs.

A route's codes are those of the refusals built by its view, by the project decorators around it, by its
blueprint's ``before_request`` hooks and by every project function (``app.*``) they call, transitively.
Names are resolved as Python resolves them when the code runs: a function's globals and closure give the
object behind ``institutions.add_staff``, ``parse_id`` (imported with ``from … import``) or a helper of
``make_blueprint``; ``self.method`` and ``Class.method`` go through the class. A refusal is

- the construction of a ``ServiceError`` (or a subclass): ``code=`` and ``status=`` when written, else the
  class's own; a subclass with its own ``__init__`` is followed into it (``super().__init__(code=…)``);
- ``abort(404)``, a werkzeug ``HTTPException`` or ``error_response(403, "…")``: the status's default code
  (``app.errors.CODES``).

A helper that builds its refusal with a code given by its caller (``raise _forbidden(code="owner_only")``,
``link_error("link_used")``) is read at each call: the argument, or the parameter's default. Where the code
is neither written nor given (computed), every code-like string of the helper counts.

A call that cannot be resolved to a project function (a method of an object of unknown class, a
library) adds nothing. A call the analysis cannot follow at all (``getattr(…)(…)``, ``table[kind](…)``
on a local, calling a function received as an argument) adds every code of the module where it is made, so
that nothing is missed; a function passed to another (``run(items, handler)``) counts as called, and a
table of functions held by a module (``HANDLERS[kind](…)``) as a call to each.

Results are kept per code object (the same for every application the process builds, as the views of each
``make_blueprint`` share their code): the analysis runs once per function and process.
"""
from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from types import CodeType, FunctionType, ModuleType

import flask
import werkzeug.exceptions
from werkzeug.exceptions import HTTPException

from app.errors import CODES, error_response
from app.services.errors import ServiceError

ANY = 0  # the status of a refusal whose status the analysis cannot tell: listed under each status
_CODE_LIKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_ABORTS = (flask.abort, werkzeug.exceptions.abort)
_OR_404 = {"get_or_404", "first_or_404", "one_or_404"}  # Flask-SQLAlchemy's 404s


@dataclass(frozen=True)
class Result:
    """What calling a function can refuse: concrete ``(status, code)`` pairs; ``forwards``, the refusals
    whose code or status is a parameter, ``(code parameter, status parameter, statuses, codes)`` (either
    parameter None when not one; the statuses and codes when not given or not a constant); ``modules``
    whose every code counts."""

    codes: frozenset = frozenset()
    forwards: frozenset = frozenset()
    modules: frozenset = frozenset()

    def __or__(self, other: Result) -> Result:
        return Result(self.codes | other.codes, self.forwards | other.forwards, self.modules | other.modules)


_RESULTS: dict[CodeType, Result] = {}


def is_project(obj) -> bool:
    """A function or class of the application: for a function, by the module whose globals it has
    (``functools.wraps`` copies ``__module__`` onto a library's wrapper)."""
    if isinstance(obj, FunctionType):
        return _module_of(obj).startswith("app.")
    return isinstance(obj, type) and obj.__module__.startswith("app.")


def _module_of(function: FunctionType) -> str:
    return function.__globals__.get("__name__", "")


# --- the syntax ---------------------------------------------------------------------------------------

# Syntax trees are large (about 50 MB for the whole application) and needed only until each function of
# theirs that a route reaches has been read: a few modules are kept, the others read again if need be.
SOURCES_KEPT = 8


@functools.lru_cache(maxsize=SOURCES_KEPT)
def _module_tree(filename: str) -> ast.Module:
    with open(filename, encoding="utf-8") as handle:
        return ast.parse(handle.read(), filename)


@functools.lru_cache(maxsize=SOURCES_KEPT)
def _module_functions(filename: str) -> dict[tuple[int, str], ast.AST]:
    """Every ``def`` of a source file by (first line, name), the first line being that of its first
    decorator as in ``co_firstlineno``. Statements only are visited: a ``def`` is one."""
    nodes: dict[tuple[int, str], ast.AST] = {}
    stack = list(_module_tree(filename).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            nodes[(first, node.name)] = node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            stack.extend(item for item in getattr(node, name, ()) if isinstance(item, ast.AST))
    return nodes


@functools.lru_cache(maxsize=SOURCES_KEPT)
def _module_lambdas(filename: str) -> dict[int, ast.Lambda | None]:
    """The lambdas of a source file by line; None for a line holding two (which is which is unknown)."""
    nodes: dict[int, ast.Lambda | None] = {}
    for node in ast.walk(_module_tree(filename)):
        if isinstance(node, ast.Lambda):
            nodes[node.lineno] = None if node.lineno in nodes else node
    return nodes


def _node(code: CodeType) -> ast.AST | None:
    try:
        if code.co_name == "<lambda>":
            return _module_lambdas(code.co_filename).get(code.co_firstlineno)
        return _module_functions(code.co_filename).get((code.co_firstlineno, code.co_name))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _params(node: ast.AST) -> list[str]:
    args = node.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)] + \
        [a.arg for a in (args.vararg, args.kwarg) if a is not None]


def _bound_names(node: ast.AST) -> tuple[set[str], set[str], dict[str, tuple], list[ast.Assign]]:
    """The names local to a function (parameters, assignments, imports); among them, those of the
    functions and classes it defines (their bodies are read as part of it) and those it imports
    (name: (module, attribute or None, level)); and its assignments ``x = call(...)``."""
    names, defined, declared, imports, assigned = set(_params(node)), set(), set(), {}, []
    stack = list(node.body if isinstance(node.body, list) else [node.body])
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(item.name)
            stack.extend(item.decorator_list)
            continue
        if isinstance(item, ast.Lambda):
            continue
        if isinstance(item, (ast.Global, ast.Nonlocal)):
            declared.update(item.names)
        elif isinstance(item, ast.Name) and isinstance(item.ctx, (ast.Store, ast.Del)):
            names.add(item.id)
        elif isinstance(item, ast.Import):
            for alias in item.names:
                bound = alias.asname or alias.name.split(".")[0]
                imports[bound] = (alias.name if alias.asname else bound, None, 0)
        elif isinstance(item, ast.ImportFrom):
            for alias in item.names:
                imports[alias.asname or alias.name] = (item.module or "", alias.name, item.level)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            names.add(item.name)
        elif (isinstance(item, ast.Assign) and len(item.targets) == 1
              and isinstance(item.targets[0], ast.Name) and isinstance(item.value, ast.Call)):
            assigned.append(item)
        stack.extend(ast.iter_child_nodes(item))
    return (names | defined | set(imports)) - declared, defined - declared, imports, assigned


def _import(imported: tuple, package: str):
    """The object a function-local import binds. A project module is imported (as running the function
    would); another only if already loaded: a library imported late (PDF, S3) stays unloaded, and cannot
    hold a project function anyway."""
    module_name, attribute, level = imported
    if level:
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        module_name = f"{base}.{module_name}" if module_name else base
    names = [module_name] if attribute is None else [module_name, f"{module_name}.{attribute}"]
    if not module_name.startswith("app.") and not all(name in sys.modules for name in names[:1]):
        return _NOTHING
    try:
        module = importlib.import_module(module_name)
        found = module if attribute is None else getattr(module, attribute, _NOTHING)
        if found is _NOTHING and module_name.startswith("app."):
            found = importlib.import_module(names[1])
        return found
    except ImportError:
        return _NOTHING


@functools.cache
def _guesses(code: CodeType) -> frozenset[str]:
    """The code-like strings of a function: what a code it computes can be (never the attribute name of a
    ``getattr``)."""
    node = _node(code)
    if node is None:
        return frozenset()
    skipped = {id(call.args[1]) for call in ast.walk(node) if isinstance(call, ast.Call)
               and isinstance(call.func, ast.Name) and call.func.id in {"getattr", "hasattr", "setattr"}
               and len(call.args) > 1}
    return frozenset(c.value for c in ast.walk(node) if isinstance(c, ast.Constant)
                     and isinstance(c.value, str) and id(c) not in skipped and _CODE_LIKE.fullmatch(c.value))


# --- one function -------------------------------------------------------------------------------------

_DYNAMIC = object()  # a call the analysis cannot follow
_NOTHING = object()  # nothing the analysis can resolve, or nothing to follow
_INLINE = object()  # a function defined inside the one read: its body is read with it


@dataclass
class _Call:
    function: FunctionType
    node: ast.Call | None  # None: a function named, not called (passed on, or kept in a structure)
    offset: int  # 1 when the first parameter (self, cls) is not among the call's arguments


class _Scanner(ast.NodeVisitor):
    """Read one function's body (with the functions defined inside it): the refusals it builds, the
    project functions it calls or passes on, and whether it makes a call that cannot be followed."""

    def __init__(self, function: FunctionType, node: ast.AST):
        self.function = function
        self.codes: set = set()
        self.forwards: set = set()
        self.dynamic = False
        self.calls: list[_Call] = []
        self.own_params = set(_params(node))
        self.closure = {}
        for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
            try:
                self.closure[name] = cell.cell_contents
            except ValueError:  # an empty cell
                pass
        self.owner = self._owner_class()
        parameters = inspect.signature(function).parameters.values() if function.__defaults__ or \
            function.__kwdefaults__ else ()
        self.defaults = {p.name: p.default for p in parameters if p.default is not p.empty}
        self.scopes: list[tuple[set, set, dict, dict]] = []
        self.called: set[int] = set()
        self._enter(node)
        for item in (node.body if isinstance(node.body, list) else [node.body]):
            self.visit(item)

    # scopes ----------------------------------------------------------------------------------------
    def _enter(self, node) -> None:
        names, defined, imports, assigned = _bound_names(node)
        module = sys.modules.get(_module_of(self.function))
        package = getattr(module, "__package__", None) or _module_of(self.function)
        imported = {name: _import(value, package) for name, value in imports.items()}
        types: dict[str, type] = {}
        self.scopes.append((names, defined, imported, types))
        for item in assigned:  # ``x = Class(...)``: then ``x.method(...)`` is Class.method
            found, _ = self._resolve(item.value.func)
            if isinstance(found, type) and is_project(found):
                types[item.targets[0].id] = found

    def _nested(self, node) -> None:
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        for decorator in getattr(node, "decorator_list", ()):
            self.visit(decorator)
        self._enter(node)
        for item in (node.body if isinstance(node.body, list) else [node.body]):
            self.visit(item)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def _owner_class(self):
        """The class of a method (``Class.method``), for ``self.other()``; None elsewhere."""
        parts = self.function.__qualname__.split(".")
        if len(parts) < 2 or "<locals>" in parts:
            return None
        owner = self.function.__globals__.get(parts[0])
        for part in parts[1:-1]:
            owner = getattr(owner, part, None)
        return owner if isinstance(owner, type) else None

    # resolution --------------------------------------------------------------------------------------
    def _name(self, name: str, with_attributes: bool):
        for depth, (names, defined, imported, types) in enumerate(reversed(self.scopes)):
            if name in defined:
                return _INLINE, 0
            if name in imported:
                return imported[name], 0
            if name in names:
                if with_attributes and name in types:  # an instance of a known class
                    return types[name], 1
                outermost = depth == len(self.scopes) - 1
                first = self.function.__code__.co_varnames[:1] == (name,)
                if outermost and first and self.owner is not None:
                    return self.owner, 1  # self or cls
                if outermost and isinstance(self.defaults.get(name), FunctionType):
                    return self.defaults[name], 0  # ``def view(id, item_of=item_of)``: a loop's binding
                return (_NOTHING if with_attributes else _DYNAMIC), 0
        for space in (self.closure, self.function.__globals__, vars(builtins)):
            if name in space:
                return space[name], 0
        return _NOTHING, 0

    def _resolve(self, expr):
        """The object an expression names (a module's or a class's attribute followed), with the offset of
        its arguments; ``_DYNAMIC`` when it is called but cannot be known, ``_NOTHING`` when unknown."""
        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        parts.reverse()
        if isinstance(expr, ast.Name):
            found, offset = self._name(expr.id, bool(parts))
        elif isinstance(expr, ast.Call) and parts:  # Class(...).method
            found, _ = self._resolve(expr.func)
            offset = 1
            if not isinstance(found, type):
                return _NOTHING, 0
        elif isinstance(expr, ast.Subscript) and not parts:  # handlers[kind](...)
            return self._container(expr.value), 0
        else:
            return (_NOTHING if parts else _DYNAMIC), 0
        for part in parts:
            if isinstance(found, ModuleType):
                found, offset = getattr(found, part, _NOTHING), 0
            elif isinstance(found, type):
                try:
                    attribute = inspect.getattr_static(found, part)
                except AttributeError:
                    return _NOTHING, 0
                if isinstance(attribute, staticmethod):
                    found, offset = attribute.__func__, 0
                elif isinstance(attribute, classmethod):
                    found, offset = attribute.__func__, 1
                else:
                    found = attribute
            else:
                return _NOTHING, 0
        return found, offset

    def _container(self, expr):
        found, _ = self._resolve(expr)
        if isinstance(found, dict):
            found = list(found.values())
        if isinstance(found, (list, tuple)):
            return tuple(f for f in found if isinstance(f, FunctionType))
        return _DYNAMIC

    # what is read --------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.called.add(id(node.func))
        found, offset = self._resolve(node.func)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _OR_404:
            self.codes.add((404, CODES[404]))
        if self._super_init(node):
            self._refusal(self.owner, node)
        elif found is _DYNAMIC:
            self.dynamic = True
        elif isinstance(found, tuple):
            self.calls.extend(_Call(f, None, 0) for f in found if is_project(f))
        elif isinstance(found, type) and issubclass(found, ServiceError):
            init = next((k.__dict__["__init__"] for k in found.__mro__ if "__init__" in k.__dict__), None)
            if is_project(init) and init is not ServiceError.__init__:
                self.calls.append(_Call(init, node, 1))
            else:
                self._refusal(found, node)
        elif isinstance(found, type) and issubclass(found, HTTPException) and found.code:
            self.codes.add((found.code, CODES.get(found.code, "error")))
        elif any(found is known for known in (*_ABORTS, error_response)):
            status = self._argument(node, 0, "status" if found is error_response else "code")
            if isinstance(status, ast.Constant) and isinstance(status.value, int):
                code = self._argument(node, 1, "code") if found is error_response else None
                written = isinstance(code, ast.Constant) and isinstance(code.value, str) and code.value
                self.codes.add((status.value, written or CODES.get(status.value, "error")))
        elif isinstance(found, type) and is_project(found.__init__):
            self.calls.append(_Call(found.__init__, node, 1))
        elif isinstance(found, FunctionType) and is_project(found):
            self.calls.append(_Call(found, node, offset))
        self.generic_visit(node)

    def _super_init(self, node: ast.Call) -> bool:
        func = node.func
        return (isinstance(func, ast.Attribute) and func.attr == "__init__"
                and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "super"
                and isinstance(self.owner, type) and issubclass(self.owner, ServiceError))

    def visit_Name(self, node: ast.Name) -> None:
        self._named(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._named(node):
            self.generic_visit(node)

    def _named(self, node) -> bool:
        """A project function named without being called here (passed on, kept): it counts as called."""
        if id(node) in self.called or not isinstance(node.ctx, ast.Load):
            return False
        found, offset = self._resolve(node)
        if isinstance(found, FunctionType) and is_project(found):
            self.calls.append(_Call(found, None, offset))
            return True
        return False

    @staticmethod
    def _argument(node: ast.Call, position: int, keyword: str):
        for word in node.keywords:
            if word.arg == keyword:
                return word.value
        return node.args[position] if len(node.args) > position else None

    def _refusal(self, cls: type, node: ast.Call) -> None:
        """A refusal built here. Its code and its status are each written (a constant), the class's own
        (not given), a parameter of this function (forwarded: its caller gives it) or computed (every
        code-like string of this function; every int written in the status's expression, else any)."""
        words = {k.arg: k.value for k in node.keywords if k.arg}
        status, code = words.get("status"), words.get("code")
        own = len(self.scopes) == 1  # a parameter of a function defined inside this one is not known
        status_param, code_param = (
            expr.id if own and isinstance(expr, ast.Name) and expr.id in self.own_params else None
            for expr in (status, code))
        if status is None or (isinstance(status, ast.Constant) and status.value is None):
            statuses = {cls.status}
        else:
            statuses = {c.value for c in ast.walk(status) if isinstance(c, ast.Constant)
                        and isinstance(c.value, int) and not isinstance(c.value, bool)} or {ANY}
        if code is None or (isinstance(code, ast.Constant) and code.value is None):
            codes = {cls.code}
        elif isinstance(code, ast.Constant) and isinstance(code.value, str):
            codes = {code.value}
        else:
            codes = set(_guesses(self.function.__code__))
        if status_param or code_param:
            self.forwards.add((code_param, status_param, tuple(sorted(statuses)), frozenset(codes)))
        else:
            self.codes.update((s, c) for s in statuses for c in codes)


# --- the graph ------------------------------------------------------------------------------------------

def _given(call: _Call, name: str) -> ast.AST | None:
    """The expression a call gives for parameter ``name`` (its default, as a constant, when not given);
    None when it cannot be told (``*args``, a function named but not called here)."""
    if call.node is None:
        return None
    for word in call.node.keywords:
        if word.arg == name:
            return word.value
    try:
        parameters = list(inspect.signature(call.function).parameters.values())
    except (TypeError, ValueError):
        return None
    position = next((i for i, p in enumerate(parameters) if p.name == name), None)
    if position is None or any(isinstance(a, ast.Starred) for a in call.node.args) or \
            any(word.arg is None for word in call.node.keywords):
        return None
    index = position - call.offset
    if 0 <= index < len(call.node.args):
        return call.node.args[index]
    default = parameters[position].default
    return ast.Constant(default) if isinstance(default, (str, int)) else None


def _bind(callee: Result, call: _Call, caller: FunctionType, caller_params: set) -> Result:
    """What ``callee`` refuses as called here: each forwarded code and status given its argument (a
    constant; a parameter of the caller, which then forwards it in turn; else what the helper may use)."""
    codes, forwards = set(callee.codes), set()
    for code_param, status_param, statuses, candidates in callee.forwards:
        given_code = _given(call, code_param) if code_param else None
        given_status = _given(call, status_param) if status_param else None
        next_code = next_status = None
        if isinstance(given_code, ast.Constant) and isinstance(given_code.value, str):
            candidates = frozenset({given_code.value})
        elif isinstance(given_code, ast.Name) and given_code.id in caller_params:
            next_code = given_code.id
        if isinstance(given_status, ast.Constant) and isinstance(given_status.value, int):
            statuses = (given_status.value,)
        elif isinstance(given_status, ast.Name) and given_status.id in caller_params:
            next_status = given_status.id
        elif status_param:
            statuses = (ANY,)
        if next_code or next_status:
            forwards.add((next_code, next_status, statuses, candidates))
        else:
            codes.update((s, c) for s in statuses for c in candidates)
    return Result(frozenset(codes), frozenset(forwards), callee.modules)


class _Walk:
    """Tarjan's strongly connected components over the call graph, each component evaluated until its
    results stop growing (recursion, mutual or not); results kept in ``_RESULTS`` by code object."""

    def __init__(self):
        self.index: dict[CodeType, int] = {}
        self.low: dict[CodeType, int] = {}
        self.stack: list[CodeType] = []
        self.scans: dict[CodeType, tuple[FunctionType, _Scanner | None]] = {}

    def result(self, function: FunctionType) -> Result:
        code = function.__code__
        if code not in _RESULTS and code not in self.index:
            self._visit(function)
        return _RESULTS.get(code, Result())

    def _visit(self, function: FunctionType) -> None:
        code = function.__code__
        self.index[code] = self.low[code] = len(self.index)
        self.stack.append(code)
        node = _node(code)
        scan = _Scanner(function, node) if node is not None else None
        self.scans[code] = (function, scan)
        for call in scan.calls if scan else ():
            callee = call.function.__code__
            if callee in _RESULTS:
                continue
            if callee not in self.index:
                self._visit(call.function)
                self.low[code] = min(self.low[code], self.low[callee])
            elif callee in self.stack:
                self.low[code] = min(self.low[code], self.index[callee])
        if self.low[code] != self.index[code]:
            return
        members = []
        while True:
            member = self.stack.pop()
            members.append(member)
            _RESULTS[member] = Result()
            if member == code:
                break
        changed = True
        while changed:
            changed = False
            for member in members:
                updated = self._evaluate(member)
                if updated != _RESULTS[member]:
                    _RESULTS[member], changed = updated, True
        for member in members:
            del self.scans[member]

    def _evaluate(self, code: CodeType) -> Result:
        function, scan = self.scans[code]
        if scan is None:  # no source: generated (a dataclass's __init__), or a lambda sharing its line
            lambda_ = code.co_name == "<lambda>"
            return Result(modules=frozenset({_module_of(function)})) if lambda_ else Result()
        result = Result(frozenset(scan.codes), frozenset(scan.forwards),
                        frozenset({_module_of(function)}) if scan.dynamic else frozenset())
        for call in scan.calls:
            result = result | _bind(_RESULTS[call.function.__code__], call, function, scan.own_params)
        return result


def codes_of(*functions, callers_give: bool = False) -> Result:
    """What calling these project functions can refuse (``Result``), analysed once per function. A code
    or status a function leaves to its caller counts as whatever it may be given, unless ``callers_give``
    (a whole module's functions: their calls in the module give them, and are read)."""
    walk = _Walk()
    result = Result()
    for function in functions:
        function = getattr(function, "__func__", function)
        if isinstance(function, FunctionType) and is_project(function):
            own = walk.result(function)
            guessed = set() if callers_give else {
                (ANY if status_param else s, c)
                for _code, status_param, statuses, candidates in own.forwards
                for s in statuses for c in candidates}
            result = result | Result(own.codes | guessed, frozenset(), own.modules)
    return result


@functools.cache
def _module_result(name: str) -> Result:
    """What the functions and methods of a module refuse (and what they call)."""
    module = sys.modules.get(name) or importlib.import_module(name)
    functions = []
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == name:
            functions.extend(getattr(v, "__func__", v) for v in vars(value).values())
        elif isinstance(value, FunctionType) and _module_of(value) == name:
            functions.append(value)
    return codes_of(*functions, callers_give=True)


def module_codes(name: str) -> frozenset:
    """Every refusal of a module, as ``(status, code)`` pairs: the fallback of a call not followed."""
    return expand(Result(modules=frozenset({name})))


def expand(result: Result) -> frozenset:
    """The ``(status, code)`` pairs of a result, with every code of the modules it falls back on."""
    codes, todo, seen = set(result.codes), sorted(result.modules), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            more = _module_result(name)
            codes |= more.codes
            todo.extend(more.modules)
    return frozenset(codes)
