//! Packed sub-block scales of the K-quants.
//!
//! Q4_K / Q5_K: 8 scales and 8 mins of 6 bits in 12 bytes. For j < 4, byte j holds scale j
//! and byte j+4 holds min j in their low 6 bits; for j ≥ 4, byte j+4 holds the low 4 bits of
//! scale j (low nibble) and min j (high nibble), and the top 2 bits of bytes j-4 and j hold
//! their high 2 bits.
//!
//! Q3_K: 16 scales of 6 bits (stored with +32) in 12 bytes: low 4 bits in the nibbles of
//! bytes 0..7 (scales 0..7 low nibbles, 8..15 high nibbles), high 2 bits in bytes 8..11
//! (scale j in bits 2·(j/4) of byte 8 + j%4).

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");

const ScaleBytes = [blocks.k_scale_bytes]u8;

/// Scale and min of sub-block `j` (0..7) of a Q4_K / Q5_K block, each 0..63.
pub inline fn scaleMin(scales: *const ScaleBytes, j: usize) struct { scale: u8, min: u8 } {
    assert(j < 8);
    if (j < 4) return .{ .scale = scales[j] & 63, .min = scales[j + 4] & 63 };
    return .{
        .scale = (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
        .min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
    };
}

/// All 8 scales and 8 mins of a Q4_K / Q5_K block at once, with 32-bit word operations
/// (bytes 0-3, 4-7, 8-11 as little-endian words w0, w1, w2; see the layout above).
pub inline fn unpackScaleMin(scales: *const ScaleBytes) struct { scale: [8]u8, min: [8]u8 } {
    const w0 = std.mem.readInt(u32, scales[0..4], .little);
    const w1 = std.mem.readInt(u32, scales[4..8], .little);
    const w2 = std.mem.readInt(u32, scales[8..12], .little);
    const low6: u32 = 0x3f3f_3f3f;
    const low4: u32 = 0x0f0f_0f0f;
    const low2: u32 = 0x0303_0303;
    const scale_words = [2]u32{ w0 & low6, (w2 & low4) | (((w0 >> 6) & low2) << 4) };
    const min_words = [2]u32{ w1 & low6, ((w2 >> 4) & low4) | (((w1 >> 6) & low2) << 4) };
    return .{ .scale = @bitCast(scale_words), .min = @bitCast(min_words) };
}

/// Packs 8 scales and 8 mins (each 0..63) into the Q4_K / Q5_K layout.
pub fn packScaleMin(scale: *const [8]u8, min: *const [8]u8, out: *ScaleBytes) void {
    @memset(out, 0);
    for (0..8) |j| {
        assert(scale[j] < 64);
        assert(min[j] < 64);
        if (j < 4) {
            out[j] |= scale[j];
            out[j + 4] |= min[j];
        } else {
            out[j + 4] = (scale[j] & 0x0F) | ((min[j] & 0x0F) << 4);
            out[j - 4] |= (scale[j] >> 4) << 6;
            out[j] |= (min[j] >> 4) << 6;
        }
    }
}

/// Signed scale of sub-block `j` (0..15) of a Q3_K block, -32..31.
pub inline fn scaleQ3(scales: *const ScaleBytes, j: usize) i8 {
    assert(j < 16);
    const low = if (j < 8) scales[j] & 0x0F else scales[j - 8] >> 4;
    const high = (scales[8 + j % 4] >> @intCast(2 * (j / 4))) & 3;
    return @as(i8, @intCast(low | (high << 4))) - 32;
}

/// Packs 16 biased scales (scale + 32, each 0..63) into the Q3_K layout.
pub fn packScaleQ3(biased: *const [16]u8, out: *ScaleBytes) void {
    @memset(out, 0);
    for (biased, 0..) |value, j| {
        assert(value < 64);
        if (j < 8) out[j] |= value & 0x0F else out[j - 8] |= (value & 0x0F) << 4;
        out[8 + j % 4] |= (value >> 4) << @intCast(2 * (j / 4));
    }
}

const testing = std.testing;

test "packScaleMin(), scaleMin() and unpackScaleMin() round-trip every 6-bit value" {
    var scale: [8]u8 = undefined;
    var min: [8]u8 = undefined;
    for (0..64) |base| {
        for (0..8) |j| {
            scale[j] = @intCast((base + 7 * j) % 64);
            min[j] = @intCast((base * 3 + 11 * j + 5) % 64);
        }
        var packed_bytes: ScaleBytes = undefined;
        packScaleMin(&scale, &min, &packed_bytes);
        for (0..8) |j| {
            const got = scaleMin(&packed_bytes, j);
            try testing.expectEqual(scale[j], got.scale);
            try testing.expectEqual(min[j], got.min);
        }
        const all = unpackScaleMin(&packed_bytes);
        try testing.expectEqual(scale, all.scale);
        try testing.expectEqual(min, all.min);
    }
}

test "packScaleQ3() and scaleQ3() round-trip every 6-bit value" {
    var biased: [16]u8 = undefined;
    for (0..64) |base| {
        for (&biased, 0..) |*value, j| value.* = @intCast((base + 13 * j) % 64);
        var packed_bytes: ScaleBytes = undefined;
        packScaleQ3(&biased, &packed_bytes);
        for (biased, 0..) |value, j| {
            try testing.expectEqual(@as(i8, @intCast(value)) - 32, scaleQ3(&packed_bytes, j));
        }
    }
}
