#define _GNU_SOURCE
#include "kiln_file.h"

#include <fcntl.h>

int kiln_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
}
