//! Read-only memory maps of model files.
//!
//! Files are mapped `PROT_READ` + `MAP_SHARED`: the mapping is the kernel's page cache itself,
//! so opening is instant, nothing is copied, and every process that maps the same file shares
//! the same physical pages. A file that is not a regular file, or that cannot be opened, is an
//! operating error returned to the caller; misuse of the API (closing twice) is a programmer
//! error. Linux only: raw system calls, so the code does not depend on libc for errors.

const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const assert = std.debug.assert;

comptime {
    assert(builtin.os.tag == .linux);
}

/// Why a file could not be mapped. The C ABI maps each to a status (c_api.zig).
pub const MapError = error{
    /// Empty path, or a path containing a NUL byte.
    InvalidPath,
    /// The path, or a directory in it, does not exist.
    FileNotFound,
    AccessDenied,
    IsDirectory,
    /// A device, FIFO or socket: nothing we can map as a model.
    NotRegularFile,
    NameTooLong,
    TooManyOpenFiles,
    OutOfMemory,
    /// Larger than the address space can hold.
    FileTooBig,
    InputOutput,
    /// An errno this code does not expect; the message of the status says so.
    Unexpected,
};

/// Advice for the kernel about how a mapping will be read (`madvise`).
pub const Advice = enum(u8) {
    normal,
    /// Read ahead aggressively, drop pages soon after use.
    sequential,
    /// No read-ahead: each fault reads one page.
    random,
    /// Start reading the whole range into the page cache now (asynchronous read-ahead). For a
    /// file mapping this fills the page cache, not this process's page tables: the first touch
    /// of each page still takes a (minor) fault, but no longer waits for the disk.
    willneed,
    /// Ask for transparent huge pages. For file-backed pages this only has an effect when the
    /// kernel can build large folios for the file's filesystem or collapses read-only file
    /// pages (CONFIG_READ_ONLY_THP_FOR_FS); otherwise it is accepted and does nothing. It
    /// matters for anonymous copies of weights (repacked layouts), not for the mapped file.
    hugepage,
};

/// Linux's limit on a path, terminating NUL included.
pub const path_bytes_max = 4096;

/// A read-only view of a whole file. `bytes` is empty (and nothing is mapped) for an empty
/// file, because `mmap` rejects a length of zero.
pub const Mapping = struct {
    bytes: []align(std.heap.page_size_min) const u8,

    /// Maps the file at `path` (relative paths start at the current directory).
    pub fn open(path: []const u8) MapError!Mapping {
        var path_buffer: [path_bytes_max]u8 = undefined;
        const path_z = try terminatePath(&path_buffer, path);
        const fd = try openReadOnly(path_z);
        defer _ = linux.close(fd);
        const byte_length = try regularFileSize(fd);
        if (byte_length == 0) return .{ .bytes = &.{} };
        const bytes = try mapShared(fd, byte_length);
        assert(bytes.len == byte_length);
        return .{ .bytes = bytes };
    }

    /// Unmaps the file. `bytes` must not be used afterwards.
    pub fn close(mapping: *Mapping) void {
        if (mapping.bytes.len > 0) {
            const rc = linux.munmap(mapping.bytes.ptr, mapping.bytes.len);
            // munmap fails only for a range that is not a mapping we made.
            assert(linux.errno(rc) == .SUCCESS);
        }
        mapping.* = undefined;
    }

    /// Passes `advice` for the whole mapping to the kernel; a no-op for an empty file.
    pub fn advise(mapping: Mapping, advice: Advice) error{ Unsupported, Unexpected }!void {
        if (mapping.bytes.len == 0) return;
        const code: u32 = switch (advice) {
            .normal => linux.MADV.NORMAL,
            .sequential => linux.MADV.SEQUENTIAL,
            .random => linux.MADV.RANDOM,
            .willneed => linux.MADV.WILLNEED,
            .hugepage => linux.MADV.HUGEPAGE,
        };
        const rc = linux.madvise(@constCast(mapping.bytes.ptr), mapping.bytes.len, code);
        return switch (linux.errno(rc)) {
            .SUCCESS => {},
            // EINVAL: the kernel lacks this advice (THP compiled out or disabled).
            .INVAL, .NOSYS => error.Unsupported,
            else => error.Unexpected,
        };
    }

    /// Drops this process's pages of the whole pages inside `bytes[offset..][0..length]`
    /// (`MADV_DONTNEED`): they leave its RSS but stay in the page cache, and a later read
    /// faults them back in with the file's bytes. For ranges copied elsewhere (repacked
    /// weights) that the process will rarely read again.
    pub fn release(mapping: Mapping, offset: usize, length: usize) void {
        assert(offset <= mapping.bytes.len and length <= mapping.bytes.len - offset);
        const page = std.heap.page_size_min;
        const begin = std.mem.alignForward(usize, offset, page);
        const end = std.mem.alignBackward(usize, offset + length, page);
        if (end <= begin) return;
        const rc = linux.madvise(@constCast(mapping.bytes.ptr + begin), end - begin, linux.MADV.DONTNEED);
        // A shared read-only file mapping accepts DONTNEED on any whole pages it covers.
        assert(linux.errno(rc) == .SUCCESS);
    }

    /// Why `lock` failed.
    pub const LockError = error{
        /// RLIMIT_MEMLOCK is smaller than the file and the process lacks CAP_IPC_LOCK.
        LockLimitExceeded,
        /// The process may not lock memory at all (RLIMIT_MEMLOCK 0 without the capability).
        PermissionDenied,
        Unexpected,
    };

    /// Reads every page now and pins it in RAM until `close`, so the kernel cannot reclaim
    /// idle weights (a reclaim daemon drops file pages idle for about a minute). Costs: the
    /// whole file is read before this returns, and its size in RAM stays resident and counts
    /// against RLIMIT_MEMLOCK. Pages stay shared with other processes mapping the file.
    pub fn lock(mapping: Mapping) LockError!void {
        if (mapping.bytes.len == 0) return;
        const rc = linux.mlock(mapping.bytes.ptr, mapping.bytes.len);
        return switch (linux.errno(rc)) {
            .SUCCESS => {},
            .NOMEM, .AGAIN => error.LockLimitExceeded,
            .PERM => error.PermissionDenied,
            else => error.Unexpected,
        };
    }
};

fn terminatePath(buffer: *[path_bytes_max]u8, path: []const u8) MapError![:0]const u8 {
    if (path.len == 0) return error.InvalidPath;
    // Length first: a caller's wrong length must not make us scan past its buffer.
    if (path.len >= buffer.len) return error.NameTooLong;
    if (std.mem.indexOfScalar(u8, path, 0) != null) return error.InvalidPath;
    @memcpy(buffer[0..path.len], path);
    buffer[path.len] = 0;
    return buffer[0..path.len :0];
}

fn openReadOnly(path: [:0]const u8) MapError!linux.fd_t {
    // NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    const flags: linux.O = .{ .ACCMODE = .RDONLY, .CLOEXEC = true, .NONBLOCK = true };
    // EINTR (a signal during a slow open, e.g. on a network filesystem) is retried, boundedly.
    for (0..open_attempts_max) |_| {
        const rc = linux.openat(linux.AT.FDCWD, path.ptr, flags, 0);
        switch (linux.errno(rc)) {
            .SUCCESS => return @intCast(rc),
            .INTR => continue,
            else => |errno| return errorFromErrno(errno),
        }
    }
    return error.Unexpected;
}

const open_attempts_max = 64;

fn regularFileSize(fd: linux.fd_t) MapError!u64 {
    var stat: linux.Statx = undefined;
    const mask: linux.STATX = .{ .TYPE = true, .SIZE = true };
    const rc = linux.statx(fd, "", linux.AT.EMPTY_PATH, mask, &stat);
    if (linux.errno(rc) != .SUCCESS) return errorFromErrno(linux.errno(rc));
    return switch (stat.mode & linux.S.IFMT) {
        linux.S.IFREG => stat.size,
        linux.S.IFDIR => error.IsDirectory,
        else => error.NotRegularFile,
    };
}

fn mapShared(fd: linux.fd_t, byte_length: u64) MapError![]align(std.heap.page_size_min) u8 {
    assert(byte_length > 0);
    if (byte_length > std.math.maxInt(usize)) return error.FileTooBig;
    const length: usize = @intCast(byte_length);
    const rc = linux.mmap(null, length, .{ .READ = true }, .{ .TYPE = .SHARED }, fd, 0);
    if (linux.errno(rc) != .SUCCESS) return errorFromErrno(linux.errno(rc));
    const ptr: [*]align(std.heap.page_size_min) u8 = @ptrFromInt(rc);
    return ptr[0..length];
}

/// The operating error behind an errno of open, statx or mmap.
pub fn errorFromErrno(errno: linux.E) MapError {
    return switch (errno) {
        .NOENT, .NOTDIR => error.FileNotFound,
        .ACCES, .PERM => error.AccessDenied,
        .ISDIR => error.IsDirectory,
        .NODEV, .NXIO => error.NotRegularFile,
        .NAMETOOLONG => error.NameTooLong,
        .MFILE, .NFILE => error.TooManyOpenFiles,
        .NOMEM, .AGAIN => error.OutOfMemory,
        .FBIG, .OVERFLOW => error.FileTooBig,
        .IO => error.InputOutput,
        .LOOP => error.FileNotFound,
        else => error.Unexpected,
    };
}

const testing = std.testing;

/// A regular file with `content`, alive as long as the returned fd, named by `/proc/self/fd`.
fn memoryFile(path_buffer: []u8, content: []const u8) !struct { fd: linux.fd_t, path: []u8 } {
    const rc = linux.memfd_create("zeno-mmap-test", linux.MFD.CLOEXEC);
    try testing.expectEqual(linux.E.SUCCESS, linux.errno(rc));
    const fd: linux.fd_t = @intCast(rc);
    var written: usize = 0;
    while (written < content.len) {
        const n = linux.write(fd, content[written..].ptr, content.len - written);
        try testing.expectEqual(linux.E.SUCCESS, linux.errno(n));
        written += n;
    }
    const path = try std.fmt.bufPrint(path_buffer, "/proc/self/fd/{d}", .{fd});
    return .{ .fd = fd, .path = path };
}

test "Mapping.open() maps a file's exact bytes" {
    var content: [3 * 4096 + 17]u8 = undefined;
    for (&content, 0..) |*byte, i| byte.* = @truncate(i *% 131 +% 7);
    var path_buffer: [64]u8 = undefined;
    const file = try memoryFile(&path_buffer, &content);
    defer _ = linux.close(file.fd);

    var mapping = try Mapping.open(file.path);
    defer mapping.close();
    try testing.expectEqualSlices(u8, &content, mapping.bytes);
    try mapping.advise(.willneed);
    try mapping.advise(.sequential);
    // 13 KiB: within the default RLIMIT_MEMLOCK (8 MiB) even without CAP_IPC_LOCK.
    try mapping.lock();
}

test "Mapping.open() of an empty file is an empty slice" {
    var path_buffer: [64]u8 = undefined;
    const file = try memoryFile(&path_buffer, "");
    defer _ = linux.close(file.fd);
    var mapping = try Mapping.open(file.path);
    try testing.expectEqual(@as(usize, 0), mapping.bytes.len);
    try mapping.advise(.willneed);
    try mapping.lock();
    mapping.close();
}

test "Mapping.open() returns operating errors" {
    const cases = [_]struct { path: []const u8, expected: MapError }{
        .{ .path = "", .expected = error.InvalidPath },
        .{ .path = "a\x00b", .expected = error.InvalidPath },
        .{ .path = "/nonexistent-zeno-dir/model.gguf", .expected = error.FileNotFound },
        .{ .path = "/proc/self/exe/not-a-dir", .expected = error.FileNotFound },
        .{ .path = "/", .expected = error.IsDirectory },
        .{ .path = ".", .expected = error.IsDirectory },
        .{ .path = "/dev/null", .expected = error.NotRegularFile },
    };
    for (cases) |case| {
        try testing.expectError(case.expected, Mapping.open(case.path));
    }
    const long_path = [_]u8{'a'} ** path_bytes_max;
    try testing.expectError(error.NameTooLong, Mapping.open(&long_path));
}

test "errorFromErrno() maps every errno we expect" {
    try testing.expectEqual(error.AccessDenied, errorFromErrno(.ACCES));
    try testing.expectEqual(error.AccessDenied, errorFromErrno(.PERM));
    try testing.expectEqual(error.TooManyOpenFiles, errorFromErrno(.MFILE));
    try testing.expectEqual(error.OutOfMemory, errorFromErrno(.NOMEM));
    try testing.expectEqual(error.InputOutput, errorFromErrno(.IO));
    try testing.expectEqual(error.Unexpected, errorFromErrno(.XDEV));
}
