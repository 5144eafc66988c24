"""Read the constants of a frozen TensorFlow GraphDef without TensorFlow.

A frozen graph stores every weight as a ``Const`` node whose ``value``
attribute is a ``TensorProto``. This module walks the protobuf wire format
(varints and length-delimited fields) just far enough to pull those tensors
out as numpy arrays, keyed by node name.

Field numbers used (from TensorFlow's graph.proto, node_def.proto,
attr_value.proto, tensor.proto, tensor_shape.proto):
GraphDef.node = 1; NodeDef.name = 1, op = 2, input = 3, attr = 5 (map entry: key = 1, value = 2);
AttrValue.tensor = 8; TensorProto.dtype = 1, tensor_shape = 2, tensor_content = 4, float_val = 5,
int_val = 7; TensorShapeProto.dim = 2; Dim.size = 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(data: memoryview) -> Iterator[tuple[int, int, object]]:
    """Yield ``(field_number, wire_type, value)`` of one protobuf message.

    Length-delimited values come as memoryviews; varints as ints; fixed
    32/64-bit values as raw memoryviews.
    """
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


@dataclass
class Node:
    """A graph node: name, op, inputs and (for Const nodes) the tensor."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    tensor: np.ndarray | None = None


def _tensor(data: memoryview) -> np.ndarray:
    dtype, shape, content, values = np.float32, [], None, []
    for number, wire, value in fields(data):
        if number == 1:
            dtype = _DTYPES.get(value, np.float32)
        elif number == 2:
            shape = [next(v for n, _, v in fields(dim) if n == 1) if any(n == 1 for n, _, _ in fields(dim)) else 0
                     for n, _, dim in fields(value) if n == 2]
        elif number == 4:
            content = bytes(value)
        elif number in (5, 7):
            values += _scalars(value, wire, dtype)
    if content is not None:
        return np.frombuffer(content, dtype=dtype).reshape(shape).copy()
    array = np.asarray(values, dtype=dtype)
    size = int(np.prod(shape)) if shape else 1
    return np.broadcast_to(array, (size,)).reshape(shape).copy() if array.size else np.zeros(shape, dtype)


def _scalars(value: object, wire: int, dtype: type) -> list:
    if wire == 2:  # packed
        raw = bytes(value)
        if dtype == np.float32:
            return list(np.frombuffer(raw, np.float32))
        out, pos, view = [], 0, memoryview(raw)
        while pos < len(view):
            number, pos = _varint(view, pos)
            out.append(number)
        return out
    if wire == 5:
        return list(np.frombuffer(bytes(value), np.float32))
    return [value]


def _node(data: memoryview) -> Node:
    node = Node(name="", op="")
    for number, _, value in fields(data):
        if number == 1:
            node.name = bytes(value).decode()
        elif number == 2:
            node.op = bytes(value).decode()
        elif number == 3:
            node.inputs.append(bytes(value).decode())
        elif number == 5:
            entry = dict((n, v) for n, _, v in fields(value))
            if bytes(entry.get(1, b"")) == b"value":
                for n, _, v in fields(entry[2]):
                    if n == 8:
                        node.tensor = _tensor(v)
    return node


def read_graph(path: Path) -> list[Node]:
    """All nodes of a frozen GraphDef file, in file order."""
    data = memoryview(Path(path).read_bytes())
    return [_node(value) for number, _, value in fields(data) if number == 1]


def constants(path: Path) -> dict[str, np.ndarray]:
    """Name -> array for every Const node of a frozen GraphDef."""
    return {node.name: node.tensor for node in read_graph(path) if node.op == "Const" and node.tensor is not None}
