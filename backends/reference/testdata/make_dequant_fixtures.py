"""Writes dequant_fixtures.json: ggml blocks and their values as decoded by the `gguf` package's
numpy dequantizers (an implementation independent of ours). See README.md beside this file.

usage: python make_dequant_fixtures.py <gemma3-270m-q4_k_m.gguf> <smollm2-135m-instruct-q4_1.gguf>
                                       <llama-2-tiny-random.gguf>
"""
import base64
import json
import sys
from importlib.metadata import version

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

SEED = 20261124
# Byte offsets of the f16 scale fields of each block type; random bytes there could be NaN/inf,
# so they are overwritten with finite halves.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
RANDOM_TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
                T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# (model argument index, tensor name, type) for blocks taken from real models.
REAL_TENSORS = [
    (0, "token_embd.weight", T.Q8_0), (0, "blk.0.attn_k.weight", T.Q5_0),
    (0, "blk.0.attn_output.weight", T.Q4_K), (0, "blk.0.ffn_down.weight", T.Q6_K),
    (1, "blk.0.ffn_down.weight", T.Q4_1), (2, "token_embd.weight", T.F16),
]


def random_blocks(rng, qtype, value_count):
    block_size, bytes_per_block = GGML_QUANT_SIZES[qtype]
    n_blocks = value_count // block_size
    raw = rng.integers(0, 256, size=(n_blocks, bytes_per_block), dtype=np.uint8)
    if qtype == T.F16:  # finite halves in [-4, 4] plus the edge values tested by hand elsewhere
        raw = rng.uniform(-4, 4, size=value_count).astype(np.float16).view(np.uint8).reshape(n_blocks, -1)
    if qtype == T.BF16:
        raw = (rng.uniform(-4, 4, size=value_count).astype(np.float32).view(np.uint32) >> 16)
        raw = raw.astype(np.uint16).view(np.uint8).reshape(n_blocks, -1)
    for at in HALF_FIELDS.get(qtype, []):
        halves = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        raw[:, at:at + 2] = halves.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def real_blocks(path, tensor_name, qtype, value_count):
    reader = GGUFReader(path)
    tensor = next(t for t in reader.tensors if t.name == tensor_name)
    assert tensor.tensor_type == qtype, (tensor_name, tensor.tensor_type)
    block_size, bytes_per_block = GGML_QUANT_SIZES[qtype]
    data = np.asarray(tensor.data).view(np.uint8).reshape(-1)
    return data[: value_count // block_size * bytes_per_block].copy()


def fixture(source, qtype, raw):
    block_size, bytes_per_block = GGML_QUANT_SIZES[qtype]
    values = dequantize(raw.reshape(-1, bytes_per_block), qtype).astype(np.float32).reshape(-1)
    return {
        "source": source,
        "type": int(qtype),
        "typeName": qtype.name,
        "blocks": base64.b64encode(raw.tobytes()).decode(),
        "values": base64.b64encode(values.astype("<f4").tobytes()).decode(),
    }


def main():
    rng = np.random.default_rng(SEED)
    fixtures = []
    for qtype in RANDOM_TYPES:
        count = 512 if GGML_QUANT_SIZES[qtype][0] == 256 else 64
        fixtures.append(fixture(f"random seed {SEED}", qtype, random_blocks(rng, qtype, count)))
    for model_index, tensor_name, qtype in REAL_TENSORS:
        path = sys.argv[1 + model_index]
        count = 256 if GGML_QUANT_SIZES[qtype][0] == 256 else 64
        raw = real_blocks(path, tensor_name, qtype, count)
        source = f"{path.split('/')[-1]} {tensor_name} first {count} values"
        fixtures.append(fixture(source, qtype, raw))
    with open("dequant_fixtures.json", "w") as out:
        header = {"generator": "make_dequant_fixtures.py", "gguf": version("gguf")}
        json.dump({**header, "fixtures": fixtures}, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
