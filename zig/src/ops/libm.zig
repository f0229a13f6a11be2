//! The C library's f32 powf, sincosf, tanhf and expf, which llama.cpp's CPU ops call (RoPE's
//! angle cache, GELU's table, TANH and soft-caps, the scalar tails of SiLU; GCC turns a cosf and a sinf of one angle into one sincosf, and glibc
//! computes the three alike). glibc's are not correctly rounded: its 2.36 cosf/sinf differ from
//! the f64 result rounded to f32 by one ulp at 27 of the 2048 RoPE angles of positions 0..63
//! with base 500000, and one ulp in one angle parts zeno from llama.cpp a few layers later
//! (tests/llama_cpp_parity_test.ts). They are looked up in libm at run time because Zig's
//! compiler_rt defines sincosf, cosf and sinf itself, and an `extern` binds to those. Without
//! a C library the functions round f64 results once.

const std = @import("std");
const builtin = @import("builtin");

const Functions = struct {
    powf: *const fn (f32, f32) callconv(.c) f32,
    sincosf: *const fn (f32, *f32, *f32) callconv(.c) void,
    tanhf: *const fn (f32) callconv(.c) f32,
    expf: *const fn (f32) callconv(.c) f32,
};

var resolved = std.atomic.Value(?*const Functions).init(null);
var storage: Functions = undefined;
var lock: std.atomic.Mutex = .unlocked;
var missing = std.atomic.Value(bool).init(false);

/// libm's functions, resolved by the first caller; null when there is no libm to ask.
fn functions() ?*const Functions {
    if (resolved.load(.acquire)) |found| return found;
    if (missing.load(.acquire) or !builtin.link_libc) return null;
    while (!lock.tryLock()) std.atomic.spinLoopHint();
    defer lock.unlock();
    if (resolved.load(.acquire)) |found| return found;
    storage = lookup() orelse {
        missing.store(true, .release);
        return null;
    };
    resolved.store(&storage, .release);
    return &storage;
}

fn lookup() ?Functions {
    const handle = std.c.dlopen("libm.so.6", .{ .NOW = true }) orelse return null;
    return .{
        .powf = @ptrCast(@alignCast(std.c.dlsym(handle, "powf") orelse return null)),
        .sincosf = @ptrCast(@alignCast(std.c.dlsym(handle, "sincosf") orelse return null)),
        .tanhf = @ptrCast(@alignCast(std.c.dlsym(handle, "tanhf") orelse return null)),
        .expf = @ptrCast(@alignCast(std.c.dlsym(handle, "expf") orelse return null)),
    };
}

pub fn powf(base: f32, exponent: f32) f32 {
    if (functions()) |c| return c.powf(base, exponent);
    return @floatCast(std.math.pow(f64, base, exponent));
}

pub const SinCos = struct { sin: f32, cos: f32 };

pub fn sincosf(x: f32) SinCos {
    if (functions()) |c| {
        var result: SinCos = undefined;
        c.sincosf(x, &result.sin, &result.cos);
        return result;
    }
    return .{ .sin = @floatCast(@sin(@as(f64, x))), .cos = @floatCast(@cos(@as(f64, x))) };
}

pub fn tanhf(x: f32) f32 {
    if (functions()) |c| return c.tanhf(x);
    return @floatCast(std.math.tanh(@as(f64, x)));
}

pub fn expf(x: f32) f32 {
    if (functions()) |c| return c.expf(x);
    return @floatCast(@exp(@as(f64, x)));
}

const testing = std.testing;

test "libm functions agree with f64 results to an ulp" {
    try testing.expect(!builtin.link_libc or functions() != null);
    var x: f32 = -20;
    while (x < 20) : (x += 0.0137) {
        const turn = sincosf(x);
        try testing.expectApproxEqAbs(@as(f32, @floatCast(@sin(@as(f64, x)))), turn.sin, 1.2e-7);
        try testing.expectApproxEqAbs(@as(f32, @floatCast(@cos(@as(f64, x)))), turn.cos, 1.2e-7);
        try testing.expectApproxEqAbs(@as(f32, @floatCast(std.math.tanh(@as(f64, x)))), tanhf(x), 1.2e-7);
        const e: f32 = @floatCast(@exp(@as(f64, x)));
        try testing.expectApproxEqRel(e, expf(x), 1.2e-7);
    }
    try testing.expectEqual(@as(f32, 0.125), powf(2, -3));
}
