#!/usr/bin/env python3
"""Generate the client's typed shapes, modeled errors and operation methods from the service model.

Usage::

    python scripts/generate_client.py MODEL [--paginators FILE] [--out DIR] [--check]

``MODEL`` is a botocore-format ``service-2.json`` (or ``.json.gz``); ``--paginators`` an optional
``paginators-1.json`` whose ``result_key`` names the items of a paginated operation (otherwise the
first list member of its output). Writes three modules to ``DIR`` (default: the client package):

- ``shapes.py``: one immutable ``msgspec.Struct`` per structure (requests, results, nested types)
  with the wire names of their members;
- ``_modeled_errors.py``: one exception class per error shape;
- ``_operations.py``: one :class:`Operation` per operation, and the mixins that give the async
  client a coroutine per operation and the futures client ``x_async`` plus a blocking ``x``.

``--check`` writes nothing and exits 1 when a checked-in module differs from what it would write.
tests/client/test_generated.py regenerates from the model the server validates with and compares.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import keyword
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from botocore import xform_name

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "src" / "strongroom" / "client"
WIDTH = 116  # ruff's line length is 120; docstrings are wrapped inside it

_PRIMITIVES = {
    "string": "str",
    "boolean": "bool",
    "integer": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "timestamp": "datetime",
    "blob": "bytes",
}


def load_json(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    return data


def first_sentence(documentation: str | None) -> str:
    """The first sentence of a model documentation string, without its HTML."""
    text = html.unescape(re.sub(r"<[^>]+>", "", documentation or "")).strip()
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence.replace("\\", "\\\\").replace('"""', "'''")


def docstring(text: str, indent: str) -> list[str]:
    if not text:
        return []
    lines = textwrap.wrap(text, WIDTH - len(indent) - 6) or [""]
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(f"{indent}{line}" for line in lines[1:]), f'{indent}"""']


def python_name(wire_name: str) -> str:
    name = xform_name(wire_name)
    return f"{name}_" if keyword.iskeyword(name) else name


def constant_name(operation: str) -> str:
    return xform_name(operation).upper()


class Model:
    """The parts of a service model the generator reads."""

    def __init__(self, definition: Mapping[str, Any], paginators: Mapping[str, Any] | None) -> None:
        self.metadata: Mapping[str, Any] = definition["metadata"]
        self.shapes: Mapping[str, Any] = definition["shapes"]
        self.operations: Mapping[str, Any] = definition["operations"]
        self.paginators: Mapping[str, Any] = (paginators or {}).get("pagination", {})
        self.output_reachable = self._reachable(
            op["output"]["shape"] for op in self.operations.values() if "output" in op
        )

    def _reachable(self, roots: Iterable[str]) -> frozenset[str]:
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            shape = self.shapes[name]
            todo.extend(ref["shape"] for ref in shape.get("members", {}).values())
            todo.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
        return frozenset(seen)

    def structures(self) -> list[str]:
        return sorted(
            name for name, shape in self.shapes.items() if shape["type"] == "structure" and not shape.get("exception")
        )

    def errors(self) -> list[str]:
        return sorted(name for name, shape in self.shapes.items() if shape.get("exception"))

    def type_of(self, shape_name: str, owner_is_output: bool, prefix: str = "") -> str:
        """The Python annotation of a member of this shape; structure names get ``prefix``."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        if kind == "structure":
            return prefix + shape_name
        if kind == "list":
            item = self.type_of(shape["member"]["shape"], owner_is_output, prefix)
            return f"tuple[{item}, ...]" if owner_is_output else f"Sequence[{item}]"
        if kind == "map":
            key = self.type_of(shape["key"]["shape"], owner_is_output, prefix)
            value = self.type_of(shape["value"]["shape"], owner_is_output, prefix)
            return f"Mapping[{key}, {value}]"
        raise ValueError(f"shape {shape_name} has a type the generator does not know: {kind}")

    def members(self, structure: str) -> list[tuple[str, str, dict[str, Any], bool]]:
        """(python name, wire name, member reference, required) of a structure, in model order."""
        shape = self.shapes[structure]
        required = set(shape.get("required", ()))
        return [
            (python_name(wire), wire, ref, wire in required) for wire, ref in shape.get("members", {}).items()
        ]

    def is_sensitive(self, ref: Mapping[str, Any]) -> bool:
        return bool(ref.get("sensitive") or self.shapes[ref["shape"]].get("sensitive"))

    def items_member(self, operation: str) -> str | None:
        """The Python name of the item list of a paginated operation (NextToken in and out), else None."""
        op = self.operations[operation]
        if "input" not in op or "output" not in op:
            return None
        inputs = self.shapes[op["input"]["shape"]].get("members", {})
        outputs = self.shapes[op["output"]["shape"]].get("members", {})
        if "NextToken" not in inputs or "NextToken" not in outputs:
            return None
        result_key = self.paginators.get(operation, {}).get("result_key")
        if isinstance(result_key, str):
            return python_name(result_key)
        lists = [wire for wire, ref in outputs.items() if self.shapes[ref["shape"]]["type"] == "list"]
        return python_name(lists[0]) if lists else None


def header(model: Model, what: str) -> list[str]:
    meta = model.metadata
    return [
        f'"""{what}',
        "",
        f"Generated by scripts/generate_client.py from the {meta.get('serviceId', '')} service model "
        f"({meta.get('apiVersion', '')}, {len(model.operations)} operations). Do not edit: regenerate.",
        '"""',
        "",
        "# ruff: noqa: E501",
        "from __future__ import annotations",
        "",
    ]


def render_shapes(model: Model) -> str:
    out = header(model, "The API's structures as immutable msgspec Structs: requests, results and nested types.")
    out += [
        "from collections.abc import Mapping, Sequence",
        "from datetime import datetime",
        "",
        "from msgspec import field",
        "",
        "from strongroom.client._base import Shape",
        "",
        "__all__ = [",
        *(f'    "{name}",' for name in model.structures()),
        "]",
    ]
    for name in model.structures():
        is_output = name in model.output_reachable
        out += ["", "", f"class {name}(Shape, frozen=True, kw_only=True):"]
        out += docstring(first_sentence(model.shapes[name].get("documentation")), "    ") or [
            f'    """The {name} structure."""'
        ]
        sensitive = [py for py, _, ref, _ in model.members(name) if model.is_sensitive(ref)]
        if sensitive:
            out += ["", f"    __sensitive__ = frozenset({{{', '.join(repr(s) for s in sensitive)}}})"]
        members = model.members(name)
        if members:
            out.append("")
        for py, wire, ref, required in members:
            annotation = model.type_of(ref["shape"], is_output)
            if required and not is_output:
                out.append(f'    {py}: {annotation} = field(name="{wire}")')
            else:
                out.append(f'    {py}: {annotation} | None = field(default=None, name="{wire}")')
    return "\n".join(out) + "\n"


def render_errors(model: Model) -> str:
    out = header(model, "One exception class per error shape of the model (the common AWS errors are in errors.py).")
    out += ["from strongroom.client.errors import ClientError", ""]
    out += ["__all__ = [", '    "MODELED_ERRORS",', *(f'    "{name}",' for name in model.errors()), "]", ""]
    for name in model.errors():
        code = model.shapes[name].get("error", {}).get("code", name)
        out += ["", f"class {name}(ClientError):"]
        out += docstring(first_sentence(model.shapes[name].get("documentation")), "    ") or [f'    """{name}."""']
        if code != name:
            out += ["", f'    code_name = "{code}"']
        out.append("")
    out += [
        "",
        "#: Error code (``__type`` without its namespace) -> exception class, for every modeled error.",
        "MODELED_ERRORS: dict[str, type[ClientError]] = {",
        *(f'    "{model.shapes[n].get("error", {}).get("code", n)}": {n},' for n in model.errors()),
        "}",
    ]
    return "\n".join(out) + "\n"


Member = tuple[str, str, dict[str, Any], bool]


def _signature(model: Model, request_shape: str, members: list[Member], call: str) -> tuple[list[str], str]:
    """The keyword-only parameters of a method (required members first) and the request it builds,
    wrapped when ``call`` plus the construction would not fit on one line."""
    ordered = [m for m in members if m[3]] + [m for m in members if not m[3]]
    params = ["        self,", "        *,"] if ordered else ["        self,"]
    for py, _, ref, required in ordered:
        annotation = model.type_of(ref["shape"], False, "shapes.")
        params.append(f"        {py}: {annotation}," if required else f"        {py}: {annotation} | None = None,")
    construct = f"shapes.{request_shape}({', '.join(f'{py}={py}' for py, *_ in ordered)})"
    if len(call) + len(construct) > WIDTH:
        inner = "".join(f"            {py}={py},\n" for py, *_ in ordered)
        construct = f"shapes.{request_shape}(\n{inner}        )"
    return params, construct


def render_operations(model: Model) -> str:
    out = header(model, "Every operation: its constants, and the generated methods of the async and futures clients.")
    out += [
        "from collections.abc import Mapping, Sequence",
        "from concurrent.futures import Future",
        "from typing import Any, TypeVar",
        "",
        "from strongroom.client import shapes",
        "from strongroom.client._base import Operation, Shape",
        "from strongroom.client.handlers import AsyncHandler",
        "from strongroom.client.paginators import AsyncPaginator, Paginator",
        "",
        'R = TypeVar("R")',
        "",
    ]
    names = sorted(model.operations)
    for name in names:
        op = model.operations[name]
        request = op["input"]["shape"]
        result = f"shapes.{op['output']['shape']}" if "output" in op else "None"
        members = model.shapes[request].get("members", {})
        tokens = [python_name(wire) for wire, ref in members.items() if ref.get("idempotencyToken")]
        errors = sorted(e["shape"] for e in op.get("errors", ()))
        items = model.items_member(name)
        out += [
            f"{constant_name(name)}: Operation[{result}] = Operation(",
            f'    name="{name}",',
            f'    target="{model.metadata["targetPrefix"]}.{name}",',
            f"    request_type=shapes.{request},",
            f"    result_type={result},",
            f"    idempotency_tokens={tuple(tokens)!r},",
            f"    errors=frozenset({{{', '.join(repr(e) for e in errors)}}}),",
            f"    items={items!r},",
            ")",
        ]
    out += [
        "",
        "#: Every operation, by the type of its request.",
        "OPERATIONS: Mapping[type[Shape], Operation[Any]] = {",
        *(f"    shapes.{model.operations[n]['input']['shape']}: {constant_name(n)}," for n in names),
        "}",
        "",
        "",
        "class AsyncOperations:",
        '    """Every operation as a coroutine with keyword arguments (the client supplies ``_call``, ``_pages``)."""',
        "",
        "    async def _call(self, operation: Operation[R], request: Shape) -> R:",
        "        raise NotImplementedError",
        "",
        "    def _pages(self, operation: Operation[R], request: Shape) -> AsyncPaginator[R, Any]:",
        "        raise NotImplementedError",
    ]
    for name in names:
        out += _async_methods(model, name)
    out += [
        "",
        "",
        "class FuturesOperations:",
        '    """Every operation as ``x_async(request, handler)`` returning a Future, and as a blocking ``x(...)``;',
        '    the client supplies ``_submit``, ``_call_blocking`` and ``_pages_blocking``."""',
        "",
        "    def _submit(self, operation: Operation[R], request: Shape, handler: Any) -> Future[R]:",
        "        raise NotImplementedError",
        "",
        "    def _call_blocking(self, operation: Operation[R], request: Shape) -> R:",
        "        raise NotImplementedError",
        "",
        "    def _pages_blocking(self, operation: Operation[R], request: Shape) -> Paginator[R, Any]:",
        "        raise NotImplementedError",
    ]
    for name in names:
        out += _futures_methods(model, name)
    return "\n".join(out) + "\n"


def _item_type(model: Model, name: str, items: str) -> str:
    output = model.operations[name]["output"]["shape"]
    for py, _, ref, _ in model.members(output):
        if py == items:
            item = model.shapes[ref["shape"]]["member"]["shape"]
            return model.type_of(item, True, "shapes.")
    raise ValueError(f"{name}: no member {items}")


def _paginate_method(model: Model, name: str, paginator: str, pages: str, loop: str) -> list[str]:
    """``paginate_<operation>`` for a paginated operation (none otherwise): the operation's arguments
    without NextToken, returning ``paginator`` built by the client's ``pages`` method."""
    items = model.items_member(name)
    if items is None:
        return []
    op = model.operations[name]
    request = op["input"]["shape"]
    const = constant_name(name)
    paged = [m for m in model.members(request) if m[1] != "NextToken"]
    params, construct = _signature(model, request, paged, f"        return self.{pages}({const}, ")
    return [
        "",
        f"    def paginate_{xform_name(name)}(",
        *params,
        f"    ) -> {paginator}[shapes.{op['output']['shape']}, {_item_type(model, name, items)}]:",
        f'        """{name}, page after page (``{loop} page in ...``; ``.items()`` for each of ``{items}``)."""',
        f"        return self.{pages}({const}, {construct})",
    ]


def _async_methods(model: Model, name: str) -> list[str]:
    op = model.operations[name]
    request = op["input"]["shape"]
    result = f"shapes.{op['output']['shape']}" if "output" in op else "None"
    const = constant_name(name)
    params, construct = _signature(model, request, model.members(request), f"        return await self._call({const}, ")
    doc = first_sentence(op.get("documentation"))
    out = ["", f"    async def {xform_name(name)}(", *params, f"    ) -> {result}:", *docstring(doc, "        ")]
    out.append(f"        return await self._call({const}, {construct})")
    return out + _paginate_method(model, name, "AsyncPaginator", "_pages", "async for")


def _futures_methods(model: Model, name: str) -> list[str]:
    op = model.operations[name]
    request = op["input"]["shape"]
    result = f"shapes.{op['output']['shape']}" if "output" in op else "None"
    method = xform_name(name)
    const = constant_name(name)
    call = f"        return self._call_blocking({const}, "
    params, construct = _signature(model, request, model.members(request), call)
    out = [
        "",
        f"    def {method}_async(",
        "        self,",
        f"        request: shapes.{request},",
        f"        handler: AsyncHandler[shapes.{request}, {result}] | None = None,",
        f"    ) -> Future[{result}]:",
        f'        """{name} in the background: a Future of its result; ``handler`` is told when it completes."""',
        f"        return self._submit({const}, request, handler)",
        "",
        f"    def {method}(",
        *params,
        f"    ) -> {result}:",
        f'        """{name}, blocking until it completes (see :meth:`{method}_async`)."""',
        f"        return self._call_blocking({const}, {construct})",
    ]
    return out + _paginate_method(model, name, "Paginator", "_pages_blocking", "for")


def render(model_path: Path, paginators_path: Path | None) -> dict[str, str]:
    """File name -> content of every generated module."""
    model = Model(load_json(model_path), load_json(paginators_path) if paginators_path else None)
    return {
        "shapes.py": render_shapes(model),
        "_modeled_errors.py": render_errors(model),
        "_operations.py": render_operations(model),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="the service model: service-2.json or service-2.json.gz")
    parser.add_argument("--paginators", type=Path, help="paginators-1.json (result keys of paginated operations)")
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR, help="where to write (default: the client package)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a module is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, content in render(args.model, args.paginators).items():
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text() != content:
                stale.append(name)
        else:
            path.write_text(content)
    if stale:
        print(f"out of date: {', '.join(stale)}; run scripts/generate_client.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
