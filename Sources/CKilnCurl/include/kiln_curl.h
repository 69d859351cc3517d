#ifndef KILN_CURL_H
#define KILN_CURL_H

#include <stddef.h>

/// Result of kiln_curl_download.
typedef struct {
    /// 0 on success, else the libcurl error code (CURLE_*), or -1 when the size limit stopped it.
    int code;
    /// The HTTP status (0 for file:// or when no response came).
    long http_status;
    /// Bytes written to the file descriptor.
    long long bytes;
    /// A message naming the problem, empty on success.
    char message[512];
} kiln_curl_result;

/// Downloads `url` (http, https or file) into the open file descriptor `fd`,
/// following up to 5 redirects, failing on HTTP errors, stopping once more
/// than `max_bytes` arrive or `timeout_seconds` pass. libcurl's setopt is
/// variadic, which Swift cannot call: this shim is the whole C surface.
kiln_curl_result kiln_curl_download(const char *url, int fd, long long max_bytes, long timeout_seconds);

/// POSTs `body` to `url` (http or https) with `headers` (one "Name: value"
/// per line), within `timeout_seconds`; the answer's body is read and
/// discarded. `code` is 0 whenever an answer came: its status is `http_status`.
kiln_curl_result kiln_curl_post(const char *url, const char *headers, const char *body, size_t body_length, long timeout_seconds);

#endif
