//! Blocks written by others, checked against an independent oracle: raw blocks cut from the
//! real models (SmolLM2 Q4_1, Gemma 3 Q4_K_M, llama-2-tiny-random F16, stories260K F32) and
//! synthetic blocks of the other types, with values dequantized by the `gguf` Python package;
//! plus the bytes gguf's reference quantizers write for one input. testdata/README.md says
//! how they were made.

const std = @import("std");
const testing = std.testing;
const traits_mod = @import("traits.zig");
const QuantType = traits_mod.QuantType;
const traits = traits_mod.traits;

const Fixture = struct { name: []const u8, quant_type: QuantType };

const dequantize_fixtures = [_]Fixture{
    .{ .name = "real_q4_1", .quant_type = .q4_1 },
    .{ .name = "real_q8_0", .quant_type = .q8_0 },
    .{ .name = "real_q4_k", .quant_type = .q4_k },
    .{ .name = "real_q6_k", .quant_type = .q6_k },
    .{ .name = "real_q5_0", .quant_type = .q5_0 },
    .{ .name = "real_f16", .quant_type = .f16 },
    .{ .name = "real_f32", .quant_type = .f32 },
    .{ .name = "synthetic_q4_0", .quant_type = .q4_0 },
    .{ .name = "synthetic_q5_1", .quant_type = .q5_1 },
    .{ .name = "synthetic_q2_k", .quant_type = .q2_k },
    .{ .name = "synthetic_q3_k", .quant_type = .q3_k },
    .{ .name = "synthetic_q5_k", .quant_type = .q5_k },
    .{ .name = "synthetic_bf16", .quant_type = .bf16 },
};

const quantize_fixtures = [_]Fixture{
    .{ .name = "quantize_q4_0", .quant_type = .q4_0 },
    .{ .name = "quantize_q4_1", .quant_type = .q4_1 },
    .{ .name = "quantize_q5_0", .quant_type = .q5_0 },
    .{ .name = "quantize_q5_1", .quant_type = .q5_1 },
    .{ .name = "quantize_q8_0", .quant_type = .q8_0 },
    .{ .name = "quantize_bf16", .quant_type = .bf16 },
};

var values: [4096]f32 = undefined;
var expected: [4096]f32 = undefined;
var bytes: [4096]u8 = undefined;

/// Little-endian f32s of an embedded file.
fn readF32(raw: []const u8, out: []f32) []f32 {
    std.debug.assert(raw.len % 4 == 0);
    const count = raw.len / 4;
    for (out[0..count], 0..) |*v, i| {
        v.* = @bitCast(std.mem.readInt(u32, raw[4 * i ..][0..4], .little));
    }
    return out[0..count];
}

test "dequantizeRow() matches gguf's dequantizers on real and synthetic blocks" {
    inline for (dequantize_fixtures) |fixture| {
        const raw = @embedFile("testdata/" ++ fixture.name ++ ".bin");
        const want = readF32(@embedFile("testdata/" ++ fixture.name ++ ".f32"), &expected);
        const t = traits(fixture.quant_type);
        try testing.expectEqual(raw.len, t.rowBytes(want.len));
        t.dequantize_row(raw, values[0..want.len]);
        for (want, values[0..want.len], 0..) |w, got, i| {
            // Same f32 operations in the same order as numpy: bit-exact.
            if (@as(u32, @bitCast(w)) != @as(u32, @bitCast(got))) {
                std.debug.print("{s}[{d}]: expected {d}, got {d}\n", .{ fixture.name, i, w, got });
                return error.TestExpectedApproxEq;
            }
        }
    }
}

test "quantizeRow() writes the same bytes as gguf's reference quantizers" {
    const input = readF32(@embedFile("testdata/quantize_input.f32"), &values);
    inline for (quantize_fixtures) |fixture| {
        const want = @embedFile("testdata/" ++ fixture.name ++ ".bin");
        const t = traits(fixture.quant_type);
        const row = bytes[0..t.rowBytes(input.len)];
        t.quantize_row(input, row);
        testing.expectEqualSlices(u8, want, row) catch |err| {
            std.debug.print("{s}\n", .{fixture.name});
            return err;
        };
    }
}
