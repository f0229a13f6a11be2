//! Scale searches of the K-quant quantizers, following the algorithms of ggml's reference
//! quantizers (the facts of how llama.cpp chooses scales; the code is ours):
//!
//! - `searchScaleMin` (ggml `make_qkx2_quants`): x ≈ scale·q - min with q in 0..nmax. Starts
//!   from the min/max grid, then tries `nstep + 1` scaled grids and for each solves the
//!   weighted least-squares scale and min of the rounded levels, keeping the best.
//! - `searchScaleSigned` (ggml `make_qx_quants`, rmse type 1): x ≈ scale·q with q in
//!   -nmax..nmax-1; tries 18 grids around nmax/max and keeps the best least-squares scale,
//!   weighting each value by x².
//! - `searchScaleQ3` (ggml `make_q3_quants` with rmse): as above, then up to 5 rounds of
//!   moving single levels when that lowers the weighted error.
//!
//! All loops are bounded by the group length (≤ 32) and the fixed number of grids.

const std = @import("std");
const assert = std.debug.assert;
const fp = @import("fp.zig");

/// Groups whose largest magnitude is below this quantize to zero (ggml's GROUP_MAX_EPS).
const group_max_eps: f32 = 1e-15;

/// Options of `searchScaleMin`: the grid offsets tried are rmin + rdelta·i for i in 0..nstep.
pub const ScaleMinSearch = struct {
    nmax: i32,
    rmin: f32,
    rdelta: f32,
    nstep: u32,
    /// Minimise weighted absolute error instead of squared error.
    use_mad: bool,
};

/// Result of `searchScaleMin`: x ≈ scale·level - min.
pub const ScaleMin = struct { scale: f32, min: f32 };

fn errorOf(diff: f32, use_mad: bool) f32 {
    return if (use_mad) @abs(diff) else diff * diff;
}

fn levelsAt(x: []const f32, iscale: f32, offset: f32, nmax: i32, levels: []u8) void {
    for (x, levels) |v, *level| {
        level.* = @intCast(fp.nearestIntClamped(iscale * (v - offset), 0, nmax));
    }
}

/// Weighted least squares x ≈ scale·level + offset for fixed levels, with offset ≤ 0 (a
/// positive offset is replaced by 0 and the scale refitted); null when the levels are
/// degenerate (all equal).
fn fitLevels(
    x: []const f32,
    weights: []const f32,
    levels: []const u8,
    sum_w: f32,
    sum_x: f32,
) ?struct { scale: f32, offset: f32 } {
    var sum_l: f32 = 0;
    var sum_l2: f32 = 0;
    var sum_xl: f32 = 0;
    for (x, weights, levels) |v, w, level| {
        const l: f32 = @floatFromInt(level);
        sum_l += w * l;
        sum_l2 += w * l * l;
        sum_xl += w * l * v;
    }
    const det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) return null;
    const scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    const offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (offset > 0) return .{ .scale = sum_xl / sum_l2, .offset = 0 };
    return .{ .scale = scale, .offset = offset };
}

/// Chooses levels (0..nmax) in `levels` and returns scale and min with x ≈ scale·level - min.
/// `min` is ≥ 0 (the group minimum is never above zero). `scratch` is one group long.
pub fn searchScaleMin(
    x: []const f32,
    weights: []const f32,
    levels: []u8,
    scratch: []u8,
    options: ScaleMinSearch,
) ScaleMin {
    assert(x.len == weights.len);
    assert(x.len == levels.len);
    assert(x.len == scratch.len);
    var min: f32 = x[0];
    var max: f32 = x[0];
    var sum_w: f32 = 0;
    var sum_x: f32 = 0;
    for (x, weights) |v, w| {
        min = @min(min, v);
        max = @max(max, v);
        sum_w += w;
        sum_x += w * v;
    }
    if (min > 0) min = 0;
    if (max == min) {
        @memset(levels, 0);
        return .{ .scale = 0, .min = -min };
    }
    const nmax_f: f32 = @floatFromInt(options.nmax);
    var iscale = nmax_f / (max - min);
    var scale = 1 / iscale;
    levelsAt(x, iscale, min, options.nmax, levels);
    var best_error: f32 = 0;
    for (x, weights, levels) |v, w, level| {
        const diff = scale * @as(f32, @floatFromInt(level)) + min - v;
        best_error += w * errorOf(diff, options.use_mad);
    }
    for (0..options.nstep + 1) |step| {
        const offset = options.rmin + options.rdelta * @as(f32, @floatFromInt(step));
        iscale = (offset + nmax_f) / (max - min);
        levelsAt(x, iscale, min, options.nmax, scratch);
        const fit = fitLevels(x, weights, scratch, sum_w, sum_x) orelse continue;
        var this_error: f32 = 0;
        for (x, weights, scratch) |v, w, level| {
            const diff = fit.scale * @as(f32, @floatFromInt(level)) + fit.offset - v;
            this_error += w * errorOf(diff, options.use_mad);
        }
        if (this_error < best_error) {
            @memcpy(levels, scratch);
            best_error = this_error;
            scale = fit.scale;
            min = fit.offset;
        }
    }
    return .{ .scale = scale, .min = -min };
}

/// The value of largest magnitude, with its sign.
fn signedMax(x: []const f32) f32 {
    var amax: f32 = 0;
    var max: f32 = 0;
    for (x) |v| {
        if (@abs(v) > amax) {
            amax = @abs(v);
            max = v;
        }
    }
    return max;
}

fn signedLevel(v: f32, iscale: f32, nmax: i32) i32 {
    return fp.nearestIntClamped(iscale * v, -nmax, nmax - 1);
}

/// Chooses levels (stored biased, 0..2·nmax-1) and returns the scale: x ≈ scale·(level - nmax).
/// Values are weighted by x², so large values are fitted best.
pub fn searchScaleSigned(x: []const f32, nmax: i32, levels: []u8) f32 {
    assert(x.len == levels.len);
    const max = signedMax(x);
    if (@abs(max) < group_max_eps) {
        @memset(levels, 0);
        return 0;
    }
    const nmax_f: f32 = @floatFromInt(nmax);
    var iscale = -nmax_f / max;
    var sum_lx: f32 = 0;
    var sum_l2: f32 = 0;
    for (x, levels) |v, *level| {
        const l = signedLevel(v, iscale, nmax);
        level.* = @intCast(l + nmax);
        const lf: f32 = @floatFromInt(l);
        sum_lx += v * v * v * lf;
        sum_l2 += v * v * lf * lf;
    }
    var scale: f32 = if (sum_l2 != 0) sum_lx / sum_l2 else 0;
    var best = scale * sum_lx;
    for ([_]i32{ -9, -8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9 }) |step| {
        iscale = -(nmax_f + 0.1 * @as(f32, @floatFromInt(step))) / max;
        sum_lx = 0;
        sum_l2 = 0;
        for (x) |v| {
            const lf: f32 = @floatFromInt(signedLevel(v, iscale, nmax));
            sum_lx += v * v * v * lf;
            sum_l2 += v * v * lf * lf;
        }
        if (sum_l2 > 0 and sum_lx * sum_lx > best * sum_l2) {
            for (x, levels) |v, *level| level.* = @intCast(signedLevel(v, iscale, nmax) + nmax);
            scale = sum_lx / sum_l2;
            best = scale * sum_lx;
        }
    }
    return scale;
}

/// Q3_K's search: levels (stored biased, 0..2·nmax-1) and scale with x ≈ scale·(level - nmax),
/// refined by moving single levels while the x²-weighted error drops (at most 5 rounds).
pub fn searchScaleQ3(x: []const f32, nmax: i32, levels: []u8) f32 {
    assert(x.len == levels.len);
    assert(x.len <= 32);
    const max = signedMax(x);
    if (@abs(max) < group_max_eps) {
        @memset(levels, 0);
        return 0;
    }
    const iscale = -@as(f32, @floatFromInt(nmax)) / max;
    var signed_levels: [32]i32 = undefined;
    var sum_lx: f32 = 0;
    var sum_l2: f32 = 0;
    for (x, 0..) |v, i| {
        const l = signedLevel(v, iscale, nmax);
        signed_levels[i] = l;
        const lf: f32 = @floatFromInt(l);
        sum_lx += v * v * v * lf;
        sum_l2 += v * v * lf * lf;
    }
    for (0..5) |_| {
        var changed: u32 = 0;
        for (x, 0..) |v, i| {
            const w = v * v;
            const old: f32 = @floatFromInt(signed_levels[i]);
            var slx = sum_lx - w * v * old;
            if (slx <= 0) continue;
            var sl2 = sum_l2 - w * old * old;
            const new_level = fp.nearestIntClamped(v * sl2 / slx, -nmax, nmax - 1);
            if (new_level == signed_levels[i]) continue;
            const new: f32 = @floatFromInt(new_level);
            slx += w * v * new;
            sl2 += w * new * new;
            if (sl2 > 0 and slx * slx * sum_l2 > sum_lx * sum_lx * sl2) {
                signed_levels[i] = new_level;
                sum_lx = slx;
                sum_l2 = sl2;
                changed += 1;
            }
        }
        if (changed == 0) break;
    }
    for (levels, 0..) |*level, i| level.* = @intCast(signed_levels[i] + nmax);
    return if (sum_l2 > 0) sum_lx / sum_l2 else 0;
}
