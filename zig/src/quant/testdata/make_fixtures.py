#!/usr/bin/env python3
"""Writes the fixtures of zig/src/quant/fixtures_test.zig (see README.md in this folder).

Needs the `gguf` package from PyPI (its numpy quantizers and dequantizers are the oracle):
    python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf==0.19.0
    /tmp/gguf-venv/bin/python zig/src/quant/testdata/make_fixtures.py [SMOLLM2.gguf GEMMA3.gguf]
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, quants
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..")
MODELS = os.environ.get("ZENO_MODELS", os.path.expanduser("~/.cache/zeno/models"))
SHARED = os.path.join(ROOT, "..", "shared", "testdata", "models")

# (fixture name, model file, tensor name, type, first block, block count)
REAL = [
    ("real_q4_1", "smollm2-135m-instruct-q4_1.gguf", "blk.0.ffn_down.weight", T.Q4_1, 100, 16),
    ("real_q8_0", "smollm2-135m-instruct-q4_1.gguf", "token_embd.weight", T.Q8_0, 9000, 16),
    ("real_q4_k", "gemma3-270m-q4_k_m.gguf", "blk.0.attn_output.weight", T.Q4_K, 40, 4),
    ("real_q6_k", "gemma3-270m-q4_k_m.gguf", "blk.0.ffn_down.weight", T.Q6_K, 40, 4),
    ("real_q5_0", "gemma3-270m-q4_k_m.gguf", "blk.0.attn_k.weight", T.Q5_0, 100, 16),
    ("real_f16", os.path.join(SHARED, "llama-2-tiny-random.gguf"), "blk.0.attn_q.weight", T.F16, 0, 64),
    ("real_f32", os.path.join(SHARED, "stories260K.gguf"), "blk.0.attn_norm.weight", T.F32, 0, 64),
]

# Types absent from the real models: random quant bytes with sane f16 scales.
SYNTHETIC = [T.Q4_0, T.Q5_1, T.Q2_K, T.Q3_K, T.Q5_K, T.BF16]
# f16 scale fields (byte offsets) per synthetic type.
SCALE_OFFSETS = {T.Q4_0: [0], T.Q5_1: [0, 2], T.Q2_K: [80, 82], T.Q3_K: [108], T.Q5_K: [0, 2]}

# Types whose reference quantizer gguf implements.
QUANTIZED = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.BF16]


def write(name, raw, values):
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(np.ascontiguousarray(raw, dtype=np.uint8).tobytes())
    with open(os.path.join(HERE, name + ".f32"), "wb") as f:
        f.write(np.ascontiguousarray(values, dtype="<f4").tobytes())


def real_blocks(path, tensor_name, qtype, first, count):
    reader = GGUFReader(path if os.path.isabs(path) else os.path.join(MODELS, path))
    tensor = next(t for t in reader.tensors if t.name == tensor_name)
    assert tensor.tensor_type == qtype, (tensor_name, tensor.tensor_type)
    block_values, block_bytes = GGML_QUANT_SIZES[qtype]
    raw = np.asarray(tensor.data).view(np.uint8).reshape(-1)
    return raw[first * block_bytes:(first + count) * block_bytes]


def synthetic_blocks(qtype, rng, count):
    block_values, block_bytes = GGML_QUANT_SIZES[qtype]
    if qtype == T.BF16:
        return quants.quantize(rng.standard_normal(count).astype(np.float32), qtype).view(np.uint8)
    raw = rng.integers(0, 256, size=(count, block_bytes), dtype=np.uint8)
    for offset in SCALE_OFFSETS[qtype]:
        scale = (rng.random(count).astype(np.float32) - 0.3) * 0.02
        raw[:, offset:offset + 2] = scale.astype(np.float16).view(np.uint8).reshape(count, 2)
    return raw.reshape(-1)


def main():
    for name, path, tensor_name, qtype, first, count in REAL:
        raw = real_blocks(path, tensor_name, qtype, first, count)
        write(name, raw, quants.dequantize(raw, qtype))
    rng = np.random.default_rng(20261124)
    for qtype in SYNTHETIC:
        count = 64 if qtype == T.BF16 else (4 if GGML_QUANT_SIZES[qtype][0] == 256 else 8)
        raw = synthetic_blocks(qtype, rng, count)
        write("synthetic_" + qtype.name.lower(), raw, quants.dequantize(raw, qtype))
    # Quantizer oracle: 8 blocks of normal values, one block of zeros, one with a repeated max.
    source = rng.standard_normal(256).astype(np.float32)
    source[64:96] = 0
    source[96:128] = np.where(np.arange(32) % 3 == 0, -2.5, source[96:128])
    with open(os.path.join(HERE, "quantize_input.f32"), "wb") as f:
        f.write(source.astype("<f4").tobytes())
    for qtype in QUANTIZED:
        raw = quants.quantize(source, qtype).view(np.uint8)
        with open(os.path.join(HERE, "quantize_" + qtype.name.lower() + ".bin"), "wb") as f:
            f.write(raw.tobytes())


if __name__ == "__main__":
    sys.exit(main())
