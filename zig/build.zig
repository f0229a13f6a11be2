//! Builds one zeno shared library per CPU variant of the target architecture
//! (`src/variants.zig`), into `zig-out/lib/libzeno-<arch>-<variant>.so`.
//!
//!   zig build                                   x86-64 here: baseline, avx2, avx512
//!   zig build -Dtarget=aarch64-linux-gnu        aarch64: baseline (NEON), dotprod, i8mm
//!   zig build -Dvariant=avx2                    one variant only
//!   zig build test                              unit tests of every module, per variant
//!
//! Tests run for each variant the build machine can execute; the others are compiled only
//! (so an AVX-512 build still type-checks on an AVX2 machine). Cross-architecture tests run
//! under QEMU: `-fqemu` (`qemu-aarch64` on PATH) and `--libc-runtimes /usr` (the library links
//! glibc; Debian's libc6-arm64-cross puts it in /usr/aarch64-linux-gnu). Without them the test
//! step fails and names the missing flag, rather than skipping silently.
//! `deno task build --target aarch64-linux-gnu --test` passes both.

const std = @import("std");
const variants = @import("src/variants.zig");
const cpu = @import("src/cpu.zig");

pub fn build(b: *std.Build) void {
    const base_query = b.standardTargetOptionsQueryOnly(.{});
    const optimize = b.option(
        std.builtin.OptimizeMode,
        "optimize",
        "Optimization mode of the libraries (default ReleaseFast)",
    ) orelse .ReleaseFast;
    const test_optimize = b.option(
        std.builtin.OptimizeMode,
        "test-optimize",
        "Optimization mode of the unit tests (default Debug: compiles in seconds, asserts on)",
    ) orelse .Debug;
    const variant_only = b.option([]const u8, "variant", "Build only this variant (e.g. avx2)");

    const arch = base_query.cpu_arch orelse b.graph.host.result.cpu.arch;
    const test_step = b.step("test", "Run the unit tests of every module");
    var built_count: usize = 0;
    for (variants.all) |variant| {
        if (variant.arch != arch) continue;
        if (variant_only) |name| if (!std.mem.eql(u8, name, variant.name)) continue;
        const target = resolveVariantTarget(b, base_query, variant);
        addLibrary(b, variant, target, optimize);
        addTests(b, test_step, variant, target, test_optimize);
        built_count += 1;
    }
    if (built_count == 0) {
        std.debug.panic("no zeno variant for arch {t}{s}{s} (see src/variants.zig)", .{
            arch,
            if (variant_only != null) " named " else "",
            variant_only orelse "",
        });
    }
}

/// The user's target (os, abi, glibc version) with the variant's CPU model.
fn resolveVariantTarget(
    b: *std.Build,
    base_query: std.Target.Query,
    variant: variants.Variant,
) std.Build.ResolvedTarget {
    const triple = b.fmt("{t}-linux", .{variant.arch});
    const cpu_query = std.Target.Query.parse(.{
        .arch_os_abi = triple,
        .cpu_features = variant.cpu_model,
    }) catch |err| std.debug.panic("bad cpu_model \"{s}\" of variant {s}: {t}", .{
        variant.cpu_model, variant.name, err,
    });
    var query = base_query;
    query.cpu_arch = variant.arch;
    query.cpu_model = cpu_query.cpu_model;
    query.cpu_features_add = cpu_query.cpu_features_add;
    query.cpu_features_sub = cpu_query.cpu_features_sub;
    return b.resolveTargetQuery(query);
}

fn createModule(
    b: *std.Build,
    root: []const u8,
    variant: variants.Variant,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
) *std.Build.Module {
    const options = b.addOptions();
    options.addOption([:0]const u8, "variant_name", variant.name);
    const module = b.createModule(.{
        .root_source_file = b.path(root),
        .target = target,
        .optimize = optimize,
        // libc: its allocator, and getauxval, which Zig's own cannot serve in a library
        // loaded by a foreign host.
        .link_libc = true,
    });
    module.addOptions("build_options", options);
    return module;
}

fn addLibrary(
    b: *std.Build,
    variant: variants.Variant,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
) void {
    var name_buffer: [64]u8 = undefined;
    const lib = b.addLibrary(.{
        .linkage = .dynamic,
        .name = b.dupe(variants.libraryName(&name_buffer, variant)),
        .root_module = createModule(b, "src/c_api.zig", variant, target, optimize),
    });
    b.installArtifact(lib);
}

fn addTests(
    b: *std.Build,
    test_step: *std.Build.Step,
    variant: variants.Variant,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
) void {
    const host = b.graph.host.result;
    const same_arch = host.cpu.arch == variant.arch;
    // Running code built for features the host lacks dies of SIGILL: compile it only.
    const host_features = cpu.targetFeatures(host.cpu.arch, host.cpu.features);
    const required = cpu.featureMask(variant.features_required);
    const runnable = !same_arch or host_features & required == required;
    const roots = [_][]const u8{ "src/c_api.zig", "src/quant/mod.zig" };
    for (roots) |root| {
        const tests = b.addTest(.{
            .name = b.fmt("{s}-{s}", .{ std.fs.path.stem(root), variant.name }),
            .root_module = createModule(b, root, variant, target, optimize),
            // The self-hosted x86 backend cannot place 512-bit inline-asm operands (vpdpbusd).
            .use_llvm = true,
        });
        if (runnable) {
            const run = b.addRunArtifact(tests);
            test_step.dependOn(&run.step);
        } else {
            test_step.dependOn(&tests.step);
        }
    }
}
