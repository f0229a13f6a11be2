//! The CPU variants: one shared library per entry, each compiled for a CPU model, so a kernel's
//! `@Vector` code becomes the widest instructions that CPU has. `build.zig` builds them from
//! this table; the library reports the table so the loader can pick the best variant the
//! running CPU supports (`zeno_variant_*` in c_api.zig). One table, two readers: the build and
//! the runtime cannot disagree.

const std = @import("std");
const cpu = @import("cpu.zig");
const Feature = cpu.Feature;

/// One build of the library.
pub const Variant = struct {
    /// Short name used in file names and `ZENO_CPU_VARIANT` ("avx2").
    name: [:0]const u8,
    arch: std.Target.Cpu.Arch,
    /// A `-mcpu` string: CPU model, then `+feature` additions.
    cpu_model: []const u8,
    /// Every feature of our list that `cpu_model` lets the compiler emit: the running CPU
    /// must have all of them. A test checks this against the model's real feature set.
    features_required: []const Feature,
};

/// All variants, grouped by architecture, each group ordered from most portable to fastest.
/// The first variant of an architecture is its baseline: it runs on every CPU of that
/// architecture and is the one the loader opens first to ask for the CPU's features.
pub const all = [_]Variant{
    .{
        .name = "baseline",
        .arch = .x86_64,
        .cpu_model = "x86_64",
        .features_required = &.{},
    },
    .{
        .name = "avx2",
        .arch = .x86_64,
        .cpu_model = "x86_64_v3",
        .features_required = &x86_64_v3_features,
    },
    .{
        // x86_64_v4 (F, BW, CD, DQ, VL) plus VNNI (int8 dot products) and VBMI (byte
        // permutes): Ice Lake, Sapphire Rapids and Zen 4 onwards. Not `native`: LLVM picks
        // 256-bit vectors for Zen 5 then.
        .name = "avx512",
        .arch = .x86_64,
        .cpu_model = "x86_64_v4+avx512vnni+avx512vbmi",
        .features_required = &(x86_64_v3_features ++ [_]Feature{
            .avx512f,  .avx512bw,   .avx512vl,   .avx512dq,
            .avx512cd, .avx512vnni, .avx512vbmi,
        }),
    },
    .{
        .name = "baseline",
        .arch = .aarch64,
        .cpu_model = "generic",
        .features_required = &.{.neon},
    },
    .{
        .name = "dotprod",
        .arch = .aarch64,
        .cpu_model = "generic+v8_2a+dotprod",
        .features_required = &.{ .neon, .dotprod },
    },
    .{
        .name = "i8mm",
        .arch = .aarch64,
        .cpu_model = "generic+v8_2a+dotprod+i8mm",
        .features_required = &.{ .neon, .dotprod, .i8mm },
    },
};

const x86_64_v3_features = [_]Feature{
    .sse4_2, .popcnt, .avx,  .avx2,  .fma,
    .f16c,   .bmi1,   .bmi2, .lzcnt, .movbe,
};

/// The variants of one architecture, most portable first (empty when we build none).
pub fn forArch(comptime arch: std.Target.Cpu.Arch) []const Variant {
    comptime {
        var count: usize = 0;
        for (all) |variant| count += @intFromBool(variant.arch == arch);
        var result: [count]Variant = undefined;
        var index: usize = 0;
        for (all) |variant| {
            if (variant.arch != arch) continue;
            result[index] = variant;
            index += 1;
        }
        const final = result;
        return &final;
    }
}

/// The library's base name without `lib` and `.so`: "zeno-x86_64-avx2".
pub fn libraryName(buffer: []u8, variant: Variant) []const u8 {
    return std.fmt.bufPrint(buffer, "zeno-{t}-{s}", .{ variant.arch, variant.name }) catch
        unreachable;
}

/// The full feature set of `variant.cpu_model`, dependencies included.
pub fn resolveCpuFeatures(variant: Variant) std.Target.Cpu.Feature.Set {
    var triple_buffer: [32]u8 = undefined;
    const triple = std.fmt.bufPrint(&triple_buffer, "{t}-linux", .{variant.arch}) catch
        unreachable;
    const query = std.Target.Query.parse(.{
        .arch_os_abi = triple,
        .cpu_features = variant.cpu_model,
    }) catch unreachable; // The table is constant; the tests parse every entry.
    var set = query.cpu_model.explicit.features;
    set.addFeatureSet(query.cpu_features_add);
    set.populateDependencies(variant.arch.allFeaturesList());
    set.removeFeatureSet(query.cpu_features_sub);
    return set;
}

const testing = std.testing;

test "every architecture's variants start with a baseline and have unique names" {
    inline for (.{ std.Target.Cpu.Arch.x86_64, std.Target.Cpu.Arch.aarch64 }) |arch| {
        const list = comptime forArch(arch);
        try testing.expect(list.len >= 2);
        try testing.expectEqualStrings("baseline", list[0].name);
        for (list, 0..) |a, i| {
            for (list[i + 1 ..]) |b| try testing.expect(!std.mem.eql(u8, a.name, b.name));
        }
    }
}

test "each variant requires exactly the listed features its CPU model enables" {
    for (all) |variant| {
        const set = resolveCpuFeatures(variant);
        const enabled = cpu.targetFeatures(variant.arch, set);
        const required = cpu.featureMask(variant.features_required);
        testing.expectEqual(required, enabled) catch |err| {
            std.debug.print("variant {t}-{s}: required 0x{x}, model enables 0x{x}\n", .{
                variant.arch, variant.name, required, enabled,
            });
            return err;
        };
    }
}

test "each later variant of an architecture requires a superset of the one before" {
    for (all[1..], all[0 .. all.len - 1]) |later, earlier| {
        if (later.arch != earlier.arch) continue;
        const later_mask = cpu.featureMask(later.features_required);
        const earlier_mask = cpu.featureMask(earlier.features_required);
        try testing.expectEqual(earlier_mask, later_mask & earlier_mask);
        try testing.expect(later_mask != earlier_mask);
    }
}

test "libraryName() joins arch and variant" {
    var buffer: [64]u8 = undefined;
    try testing.expectEqualStrings("zeno-x86_64-avx512", libraryName(&buffer, all[2]));
    try testing.expectEqualStrings("zeno-aarch64-baseline", libraryName(&buffer, all[3]));
}
