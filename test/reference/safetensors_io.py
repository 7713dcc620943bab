#!/usr/bin/env python3
"""A minimal safetensors reader and writer (no dependency on the safetensors package).

File layout: an 8-byte little-endian unsigned header length n, n bytes of UTF-8 JSON
mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
relative to the byte buffer that follows the header) plus an optional "__metadata__"
string map, then the raw little-endian tensor data.

Writing supports F32, F16 and BF16 storage of float arrays; reading also understands
F64, I64, I32, I16, I8, U8 and BOOL. BF16 values are rounded to nearest even and
decoded exactly to float32.
"""

import json
import struct

import numpy as np

# Storage dtype name -> (numpy dtype used on disk, element size in bytes).
_DISK_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits, decoded below
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

WRITABLE_DTYPES = ("F32", "F16", "BF16")


class SafetensorsError(ValueError):
    """Raised for a malformed safetensors file."""


def float32_to_bf16_bits(x):
    """Round float32 values to bfloat16 (nearest, ties to even); returns uint16 bits."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    out = ((bits + rounding) >> 16).astype(np.uint16)
    # Keep NaNs NaN (rounding could carry a NaN payload into the exponent).
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    out[nan] = 0x7FC0
    return out


def bf16_bits_to_float32(bits):
    """Decode uint16 bfloat16 bits exactly to float32."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def encode(array, dtype):
    """Returns the little-endian bytes of `array` stored as `dtype` (F32, F16 or BF16)."""
    array = np.asarray(array)
    if dtype == "F32":
        data = array.astype("<f4")
    elif dtype == "F16":
        data = array.astype("<f2")
    elif dtype == "BF16":
        data = float32_to_bf16_bits(array.astype(np.float32)).astype("<u2")
    elif dtype in _DISK_DTYPES:
        data = array.astype(_DISK_DTYPES[dtype])
    else:
        raise ValueError(f"cannot write dtype {dtype!r}")
    return np.ascontiguousarray(data).tobytes()


def stored_values(array, dtype):
    """The float32 values `array` reads back as after being stored as `dtype`."""
    return decode(encode(array, dtype), dtype, np.shape(array)).astype(np.float32)


def decode(raw, dtype, shape):
    """Decodes raw little-endian bytes of a tensor; BF16 becomes float32."""
    disk = _DISK_DTYPES[dtype]
    values = np.frombuffer(raw, dtype=disk).reshape(shape)
    if dtype == "BF16":
        return bf16_bits_to_float32(values).reshape(shape)
    return values.astype(disk.newbyteorder("="))


def serialize(tensors, dtype="F32", metadata=None):
    """Returns the bytes of a safetensors file holding `tensors` (name -> array).

    `dtype` is one storage dtype for every tensor, or a dict name -> dtype.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name, array in tensors.items():
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        raw = encode(array, dt)
        header[name] = {
            "dtype": dt,
            "shape": [int(s) for s in np.shape(array)],
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad the header with spaces so the data starts 8-byte aligned, as the
    # reference implementation does.
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write(path, tensors, dtype="F32", metadata=None):
    """Writes `tensors` (name -> array) to a safetensors file at `path`."""
    with open(path, "wb") as f:
        f.write(serialize(tensors, dtype, metadata))


def read_with_dtypes(path):
    """Reads a safetensors file; returns (name -> numpy array, name -> storage dtype)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsError(f"{path}: file too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise SafetensorsError(f"{path}: header length {n} exceeds the file size")
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    data = blob[8 + n :]
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dt = info["dtype"]
            shape = tuple(int(s) for s in info["shape"])
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: bad header entry for '{name}'") from None
        if dt not in _DISK_DTYPES:
            raise SafetensorsError(f"{path}: tensor '{name}' has unsupported dtype {dt}")
        size = int(np.prod(shape, dtype=np.int64)) * _DISK_DTYPES[dt].itemsize
        if not (0 <= begin <= end <= len(data)) or end - begin != size:
            raise SafetensorsError(
                f"{path}: tensor '{name}' data_offsets {[begin, end]} do not fit "
                f"shape {list(shape)} {dt} in {len(data)} data bytes")
        tensors[name] = decode(data[begin:end], dt, shape)
        dtypes[name] = dt
    return tensors, dtypes


def read(path):
    """Reads a safetensors file into a dict name -> numpy array."""
    return read_with_dtypes(path)[0]
