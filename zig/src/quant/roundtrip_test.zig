//! quantize → dequantize error of every type on normal values (mean 0, sd 1), as RMSE relative
//! to the signal's RMS. The bounds sit ~15 % above what our quantizers reach on this data
//! (measured: F16 0.00021, BF16 0.0016, Q8_0 0.0054, Q8_K 0.0071, Q6_K 0.018, Q5_0 0.043,
//! Q5_1 0.038, Q5_K 0.036, Q4_0 0.085, Q4_1 0.080, Q4_K 0.072, Q3_K 0.151, Q2_K 0.303), so a
//! regression in a scale search shows up; F32 must be exact.

const std = @import("std");
const testing = std.testing;
const traits_mod = @import("traits.zig");
const QuantType = traits_mod.QuantType;
const traits = traits_mod.traits;

const Bound = struct { quant_type: QuantType, rmse_max: f64 };

/// Relative RMSE bounds per type.
const bounds = [_]Bound{
    .{ .quant_type = .f32, .rmse_max = 0 },
    .{ .quant_type = .f16, .rmse_max = 0.00025 },
    .{ .quant_type = .bf16, .rmse_max = 0.0019 },
    .{ .quant_type = .q8_0, .rmse_max = 0.0062 },
    .{ .quant_type = .q8_1, .rmse_max = 0.0062 },
    .{ .quant_type = .q8_k, .rmse_max = 0.0082 },
    .{ .quant_type = .q6_k, .rmse_max = 0.0207 },
    .{ .quant_type = .q5_0, .rmse_max = 0.049 },
    .{ .quant_type = .q5_1, .rmse_max = 0.044 },
    .{ .quant_type = .q5_k, .rmse_max = 0.042 },
    .{ .quant_type = .q4_0, .rmse_max = 0.098 },
    .{ .quant_type = .q4_1, .rmse_max = 0.092 },
    .{ .quant_type = .q4_k, .rmse_max = 0.083 },
    .{ .quant_type = .q3_k, .rmse_max = 0.174 },
    .{ .quant_type = .q2_k, .rmse_max = 0.349 },
};

const value_count = 32 * 256;
var source: [value_count]f32 = undefined;
var restored: [value_count]f32 = undefined;
var packed_bytes: [value_count * 4]u8 = undefined;

fn relativeRmse(quant_type: QuantType) f64 {
    const t = traits(quant_type);
    const row = packed_bytes[0..t.rowBytes(value_count)];
    t.quantize_row(&source, row);
    t.dequantize_row(row, &restored);
    var err2: f64 = 0;
    var signal2: f64 = 0;
    for (source, restored) |x, y| {
        err2 += (@as(f64, x) - y) * (@as(f64, x) - y);
        signal2 += @as(f64, x) * x;
    }
    return @sqrt(err2 / signal2);
}

test "quantizeRow() then dequantizeRow() stays within each type's error bound" {
    var prng = std.Random.DefaultPrng.init(0x5eed_0003);
    for (&source) |*v| v.* = prng.random().floatNorm(f32);
    for (bounds) |bound| {
        const rmse = relativeRmse(bound.quant_type);
        testing.expect(rmse <= bound.rmse_max) catch |err| {
            const args = .{ traits(bound.quant_type).name, rmse, bound.rmse_max };
            std.debug.print("{s}: relative RMSE {d:.5} > {d}\n", args);
            return err;
        };
    }
}
