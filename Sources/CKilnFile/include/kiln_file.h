#ifndef KILN_FILE_H
#define KILN_FILE_H

/// Starts writing back `length` bytes of `fd` from `offset` to disk without
/// waiting (Linux's sync_file_range, which glibc declares only for
/// _GNU_SOURCE, out of Swift's reach). Returns 0, or -1 with errno set.
int kiln_start_writeback(int fd, long long offset, long long length);

#endif
