#ifndef KILN_FILE_H
#define KILN_FILE_H

/// Starts writing back `length` bytes of `fd` from `offset` to disk without
/// waiting (Linux's sync_file_range, which glibc declares only for
/// _GNU_SOURCE, out of Swift's reach). Returns 0, or -1 with errno set.
int kiln_start_writeback(int fd, long long offset, long long length);

/// Linux's O_PATH, which glibc defines only for _GNU_SOURCE: a descriptor
/// that names a file without opening it (no read, no side effects of a device).
#define KILN_O_PATH 010000000

/// Resolution rules for kiln_openat2, Linux's RESOLVE_* values.
#define KILN_RESOLVE_NO_XDEV 0x01
#define KILN_RESOLVE_NO_MAGICLINKS 0x02
#define KILN_RESOLVE_NO_SYMLINKS 0x04
#define KILN_RESOLVE_BENEATH 0x08

/// Linux's openat2(2), which glibc 2.36 does not wrap: opens `path` relative
/// to `dirfd` with `flags` and `mode`, resolving it under the `resolve` rules
/// (KILN_RESOLVE_*). Returns a descriptor, or -1 with errno set (EXDEV: the
/// path leaves the directory; ELOOP: a link where none is allowed).
int kiln_openat2(int dirfd, const char *path, int flags, unsigned int mode, unsigned long long resolve);

#endif
