//! CPU feature detection: which instruction-set extensions this process may use.
//!
//! The result is a bitmask of `Feature` (bit index = enum value). The bit indices are part of
//! the C ABI (`zeno_cpu_features`): append new features, never renumber. x86-64 features come
//! from `cpuid`; extensions with wider registers also need the OS to save their state on a
//! context switch (`xgetbv` XCR0), else executing them faults. aarch64 features come from the
//! kernel's hardware capability words (`getauxval(AT_HWCAP / AT_HWCAP2)`).

const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

/// One instruction-set extension. The value is its bit in the feature mask.
pub const Feature = enum(u6) {
    // x86-64: bits 0..31.
    sse4_2 = 0,
    popcnt = 1,
    avx = 2,
    avx2 = 3,
    fma = 4,
    f16c = 5,
    bmi1 = 6,
    bmi2 = 7,
    lzcnt = 8,
    movbe = 9,
    avx512f = 10,
    avx512bw = 11,
    avx512vl = 12,
    avx512dq = 13,
    avx512cd = 14,
    avx512vnni = 15,
    avx512bf16 = 16,
    avx512vbmi = 17,
    // aarch64: bits 32..63.
    neon = 32,
    dotprod = 33,
    i8mm = 34,

    /// The feature's bit in a mask.
    pub fn mask(feature: Feature) u64 {
        return @as(u64, 1) << @intFromEnum(feature);
    }
};

/// The union of the bits of `features`.
pub fn featureMask(features: []const Feature) u64 {
    var result: u64 = 0;
    for (features) |feature| result |= feature.mask();
    return result;
}

/// The features of the CPU running this process (0 on architectures we do not probe).
pub fn detect() u64 {
    return switch (builtin.cpu.arch) {
        .x86_64 => decodeX86(readX86Registers()),
        .aarch64 => decodeAarch64(readAarch64Hwcaps()),
        else => 0,
    };
}

/// Bytes of the level-2 cache of one core, 0 where unknown: x86-64's extended `cpuid` leaf
/// 0x80000006 (ECX bits 31..16, KiB; AMD and Intel both fill it).
pub fn l2CacheBytes() usize {
    if (builtin.cpu.arch != .x86_64) return 0;
    if (cpuid(0x8000_0000, 0).eax < 0x8000_0006) return 0;
    return @as(usize, cpuid(0x8000_0006, 0).ecx >> 16) << 10;
}

/// The `cpuid` / `xgetbv` words that decide our x86-64 features, read once.
pub const X86Registers = struct {
    leaf1_ecx: u32 = 0,
    leaf7_ebx: u32 = 0,
    leaf7_ecx: u32 = 0,
    /// Leaf 7, sub-leaf 1 (AVX512_BF16 lives there).
    leaf7_1_eax: u32 = 0,
    /// Extended leaf 0x80000001 (LZCNT lives there).
    ext1_ecx: u32 = 0,
    /// XCR0: which register states the OS saves; 0 when OSXSAVE is off.
    xcr0: u64 = 0,
};

// XCR0 bits: SSE (1), AVX upper halves (2), AVX-512 opmask (5), ZMM0-15 upper halves (6),
// ZMM16-31 (7).
const xcr0_avx_mask: u64 = 0b110;
const xcr0_avx512_mask: u64 = 0b1110_0110;

/// Maps `cpuid` words to our feature mask. Pure, so tests can feed recorded CPUs.
pub fn decodeX86(regs: X86Registers) u64 {
    var result: u64 = 0;
    const bits = [_]struct { word: u32, bit: u5, feature: Feature }{
        .{ .word = regs.leaf1_ecx, .bit = 20, .feature = .sse4_2 },
        .{ .word = regs.leaf1_ecx, .bit = 23, .feature = .popcnt },
        .{ .word = regs.leaf1_ecx, .bit = 22, .feature = .movbe },
        .{ .word = regs.leaf7_ebx, .bit = 3, .feature = .bmi1 },
        .{ .word = regs.leaf7_ebx, .bit = 8, .feature = .bmi2 },
        .{ .word = regs.ext1_ecx, .bit = 5, .feature = .lzcnt },
    };
    for (bits) |b| {
        if (bitSet(b.word, b.bit)) result |= b.feature.mask();
    }
    if (regs.xcr0 & xcr0_avx_mask == xcr0_avx_mask) result |= decodeX86Avx(regs);
    if (regs.xcr0 & xcr0_avx512_mask == xcr0_avx512_mask) result |= decodeX86Avx512(regs);
    return result;
}

/// Features that use YMM registers: valid only when the OS saves them.
fn decodeX86Avx(regs: X86Registers) u64 {
    var result: u64 = 0;
    if (bitSet(regs.leaf1_ecx, 28)) result |= Feature.avx.mask();
    if (bitSet(regs.leaf1_ecx, 12)) result |= Feature.fma.mask();
    if (bitSet(regs.leaf1_ecx, 29)) result |= Feature.f16c.mask();
    if (bitSet(regs.leaf7_ebx, 5)) result |= Feature.avx2.mask();
    return result;
}

/// Features that use ZMM and opmask registers: valid only when the OS saves them.
fn decodeX86Avx512(regs: X86Registers) u64 {
    var result: u64 = 0;
    if (bitSet(regs.leaf7_ebx, 16)) result |= Feature.avx512f.mask();
    if (bitSet(regs.leaf7_ebx, 17)) result |= Feature.avx512dq.mask();
    if (bitSet(regs.leaf7_ebx, 28)) result |= Feature.avx512cd.mask();
    if (bitSet(regs.leaf7_ebx, 30)) result |= Feature.avx512bw.mask();
    if (bitSet(regs.leaf7_ebx, 31)) result |= Feature.avx512vl.mask();
    if (bitSet(regs.leaf7_ecx, 1)) result |= Feature.avx512vbmi.mask();
    if (bitSet(regs.leaf7_ecx, 11)) result |= Feature.avx512vnni.mask();
    if (bitSet(regs.leaf7_1_eax, 5)) result |= Feature.avx512bf16.mask();
    return result;
}

fn bitSet(word: u32, bit: u5) bool {
    return (word >> bit) & 1 == 1;
}

const CpuidResult = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, subleaf: u32) CpuidResult {
    comptime assert(builtin.cpu.arch == .x86_64);
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [eax] "={eax}" (eax),
          [ebx] "={ebx}" (ebx),
          [ecx] "={ecx}" (ecx),
          [edx] "={edx}" (edx),
        : [leaf] "{eax}" (leaf),
          [subleaf] "{ecx}" (subleaf),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

fn xgetbv(index: u32) u64 {
    comptime assert(builtin.cpu.arch == .x86_64);
    var eax: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("xgetbv"
        : [eax] "={eax}" (eax),
          [edx] "={edx}" (edx),
        : [index] "{ecx}" (index),
    );
    return (@as(u64, edx) << 32) | eax;
}

fn readX86Registers() X86Registers {
    var regs: X86Registers = .{};
    const leaf_max = cpuid(0, 0).eax;
    if (leaf_max < 1) return regs;
    regs.leaf1_ecx = cpuid(1, 0).ecx;
    // OSXSAVE (leaf 1 ECX bit 27): the OS enabled XSAVE, so `xgetbv` exists.
    if (bitSet(regs.leaf1_ecx, 27)) regs.xcr0 = xgetbv(0);
    if (leaf_max >= 7) {
        const leaf7 = cpuid(7, 0);
        regs.leaf7_ebx = leaf7.ebx;
        regs.leaf7_ecx = leaf7.ecx;
        // leaf7.eax is the highest sub-leaf of leaf 7.
        if (leaf7.eax >= 1) regs.leaf7_1_eax = cpuid(7, 1).eax;
    }
    const ext_leaf_max = cpuid(0x8000_0000, 0).eax;
    if (ext_leaf_max >= 0x8000_0001) regs.ext1_ecx = cpuid(0x8000_0001, 0).ecx;
    return regs;
}

/// The aarch64 Linux hardware capability words.
pub const Aarch64Hwcaps = struct {
    hwcap: u64 = 0,
    hwcap2: u64 = 0,
};

// Bits of AT_HWCAP / AT_HWCAP2 from the kernel's arm64 uapi `asm/hwcap.h`.
const hwcap_asimd: u64 = 1 << 1;
const hwcap_asimddp: u64 = 1 << 20;
const hwcap2_i8mm: u64 = 1 << 13;
const at_hwcap: c_ulong = 16;
const at_hwcap2: c_ulong = 26;

/// Maps the capability words to our feature mask. Pure, so tests can feed recorded CPUs.
pub fn decodeAarch64(hwcaps: Aarch64Hwcaps) u64 {
    var result: u64 = 0;
    if (hwcaps.hwcap & hwcap_asimd != 0) result |= Feature.neon.mask();
    if (hwcaps.hwcap & hwcap_asimddp != 0) result |= Feature.dotprod.mask();
    if (hwcaps.hwcap2 & hwcap2_i8mm != 0) result |= Feature.i8mm.mask();
    return result;
}

fn readAarch64Hwcaps() Aarch64Hwcaps {
    comptime assert(builtin.cpu.arch == .aarch64);
    // libc's getauxval: Zig's own reads an auxv pointer set by Zig's start code, which never
    // runs in a shared library loaded by a foreign host.
    comptime assert(builtin.link_libc);
    return .{ .hwcap = std.c.getauxval(at_hwcap), .hwcap2 = std.c.getauxval(at_hwcap2) };
}

const testing = std.testing;

test "Feature bits are stable and fit in the mask" {
    try testing.expectEqual(@as(u64, 1), Feature.sse4_2.mask());
    try testing.expectEqual(@as(u64, 1) << 17, Feature.avx512vbmi.mask());
    try testing.expectEqual(@as(u64, 1) << 32, Feature.neon.mask());
    try testing.expectEqual(@as(u64, 0b1100), featureMask(&.{ .avx, .avx2 }));
    for (std.enums.values(Feature)) |feature| {
        const is_arm = @intFromEnum(feature) >= 32;
        try testing.expect(is_arm == (feature == .neon or feature == .dotprod or
            feature == .i8mm));
    }
}

// cpuid words recorded on this project's CI machine (2026-11): an AMD EPYC VM whose
// hypervisor hides AVX-512 (leaf 7 EBX bit 16 clear, XCR0 = 0x7).
const epyc_vm_registers: X86Registers = .{
    .leaf1_ecx = 0xfff8_3203,
    .leaf7_ebx = 0x209c_01ab,
    .leaf7_ecx = 0,
    .leaf7_1_eax = 0,
    .ext1_ecx = 0x0040_03f3,
    .xcr0 = 0x7,
};

const x86_scalar_features = featureMask(&.{ .sse4_2, .popcnt, .bmi1, .bmi2, .lzcnt, .movbe });
const x86_avx_features = featureMask(&.{ .avx, .avx2, .fma, .f16c });

test "decodeX86() of a recorded AVX2 machine" {
    try testing.expectEqual(x86_scalar_features | x86_avx_features, decodeX86(epyc_vm_registers));
}

test "decodeX86() reads every AVX-512 feature when the OS saves ZMM state" {
    const all_bits: X86Registers = .{
        .leaf1_ecx = 0xffff_ffff,
        .leaf7_ebx = 0xffff_ffff,
        .leaf7_ecx = 0xffff_ffff,
        .leaf7_1_eax = 0xffff_ffff,
        .ext1_ecx = 0xffff_ffff,
        .xcr0 = 0xe7,
    };
    const avx512 = featureMask(&.{
        .avx512f,  .avx512bw,   .avx512vl,   .avx512dq,
        .avx512cd, .avx512vnni, .avx512bf16, .avx512vbmi,
    });
    try testing.expectEqual(x86_scalar_features | x86_avx_features | avx512, decodeX86(all_bits));
    var no_zmm = all_bits;
    no_zmm.xcr0 = 0x7; // x87, SSE, AVX; no opmask or ZMM state.
    try testing.expectEqual(x86_scalar_features | x86_avx_features, decodeX86(no_zmm));
    no_zmm.xcr0 = 0; // OSXSAVE off: no AVX either.
    try testing.expectEqual(x86_scalar_features, decodeX86(no_zmm));
}

test "l2CacheBytes() reads whole KiB, at least 256 KiB on a CPU with AVX-512" {
    const bytes = l2CacheBytes();
    try testing.expectEqual(@as(usize, 0), bytes % 1024);
    // Every CPU with AVX-512 has an L2 of at least 256 KiB per core.
    if (detect() & Feature.avx512f.mask() != 0) try testing.expect(bytes >= 256 << 10);
}

test "decodeX86() of an empty cpuid is no feature" {
    try testing.expectEqual(@as(u64, 0), decodeX86(.{}));
}

test "decodeAarch64() reads NEON, dotprod and i8mm" {
    try testing.expectEqual(@as(u64, 0), decodeAarch64(.{}));
    try testing.expectEqual(Feature.neon.mask(), decodeAarch64(.{ .hwcap = 0b11 }));
    const dotprod: Aarch64Hwcaps = .{ .hwcap = hwcap_asimd | hwcap_asimddp };
    try testing.expectEqual(featureMask(&.{ .neon, .dotprod }), decodeAarch64(dotprod));
    const i8mm: Aarch64Hwcaps = .{ .hwcap = hwcap_asimd | hwcap_asimddp, .hwcap2 = hwcap2_i8mm };
    try testing.expectEqual(featureMask(&.{ .neon, .dotprod, .i8mm }), decodeAarch64(i8mm));
}

test "detect() reports every feature this code was compiled to use" {
    // A binary built for a CPU model runs only on CPUs that have its features, so detection
    // must find at least those.
    const detected = detect();
    const compiled = compiledFeatures();
    try testing.expectEqual(compiled, detected & compiled);
}

/// The features of our list that the compile target enables (what the running CPU must have).
pub fn compiledFeatures() u64 {
    return targetFeatures(builtin.cpu.arch, builtin.cpu.features);
}

/// The features of our list present in a Zig CPU feature set of `arch`.
pub fn targetFeatures(arch: std.Target.Cpu.Arch, set: std.Target.Cpu.Feature.Set) u64 {
    return switch (arch) {
        .x86_64 => x86TargetFeatures(set),
        .aarch64 => aarch64TargetFeatures(set),
        else => 0,
    };
}

fn x86TargetFeatures(set: std.Target.Cpu.Feature.Set) u64 {
    const x86 = std.Target.x86.Feature;
    const table = [_]struct { x86, Feature }{
        .{ .sse4_2, .sse4_2 },         .{ .popcnt, .popcnt },
        .{ .avx, .avx },               .{ .avx2, .avx2 },
        .{ .fma, .fma },               .{ .f16c, .f16c },
        .{ .bmi, .bmi1 },              .{ .bmi2, .bmi2 },
        .{ .lzcnt, .lzcnt },           .{ .movbe, .movbe },
        .{ .avx512f, .avx512f },       .{ .avx512bw, .avx512bw },
        .{ .avx512vl, .avx512vl },     .{ .avx512dq, .avx512dq },
        .{ .avx512cd, .avx512cd },     .{ .avx512vnni, .avx512vnni },
        .{ .avx512bf16, .avx512bf16 }, .{ .avx512vbmi, .avx512vbmi },
    };
    var result: u64 = 0;
    for (table) |entry| {
        if (std.Target.x86.featureSetHas(set, entry[0])) result |= entry[1].mask();
    }
    return result;
}

fn aarch64TargetFeatures(set: std.Target.Cpu.Feature.Set) u64 {
    const arm = std.Target.aarch64;
    var result: u64 = 0;
    if (arm.featureSetHas(set, .neon)) result |= Feature.neon.mask();
    if (arm.featureSetHas(set, .dotprod)) result |= Feature.dotprod.mask();
    if (arm.featureSetHas(set, .i8mm)) result |= Feature.i8mm.mask();
    return result;
}
