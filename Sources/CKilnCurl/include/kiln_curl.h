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
    /// The first address the check refused (4 or 16 bytes, network order); `refused_length` 0 when none was.
    unsigned char refused[16];
    int refused_length;
    /// A message naming the problem, empty on success.
    char message[512];
} kiln_curl_result;

/// Asked before every connection libcurl opens (the first and each
/// redirect's): 1 lets it connect to `address` (`length` 4 for IPv4, 16 for
/// IPv6, network order), 0 refuses it.
typedef int (*kiln_curl_address_check)(const unsigned char *address, int length, void *context);

/// How kiln_curl_download fetches.
typedef struct {
    /// libcurl's protocol list ("http,https", or "file" for an operator's local file).
    const char *protocols;
    long connect_timeout_seconds;
    /// The whole transfer, redirects included.
    long timeout_seconds;
    /// Redirects followed (only to http and https), at most.
    long max_redirects;
    /// Bytes accepted, at most: the Content-Length is checked first, then every byte is counted.
    long long max_bytes;
    /// Checks each address before a socket is opened to it; NULL: none is checked.
    kiln_curl_address_check check;
    void *check_context;
} kiln_curl_download_options;

/// Downloads `url` into the open file descriptor `fd` as `options` say,
/// failing on HTTP errors, without any proxy (a proxy would connect where
/// the address check cannot see). libcurl's setopt is variadic, which Swift
/// cannot call: this shim is the whole C surface.
kiln_curl_result kiln_curl_download(const char *url, int fd, const kiln_curl_download_options *options);


/// One HTTP request for an object store: what to send and where the answer goes.
typedef struct {
    /// GET, HEAD, PUT, POST or DELETE.
    const char *method;
    const char *url;
    /// One "Name: value" per line.
    const char *headers;
    /// CURLOPT_AWS_SIGV4's parameter ("aws:amz:REGION:s3"), or NULL for an unsigned request.
    const char *aws_sigv4;
    /// "ACCESS_KEY:SECRET" for the signature, or NULL.
    const char *user_password;
    /// An in-memory body (POST), or NULL.
    const char *body;
    size_t body_length;
    /// A body read from this file descriptor (PUT), from `upload_offset` for
    /// `upload_length` bytes; -1 for none.
    int upload_fd;
    long long upload_offset;
    long long upload_length;
    /// A 2xx answer's body goes to this descriptor; -1 keeps it in memory
    /// (up to 1 MiB). Other answers' bodies are always kept in memory.
    int download_fd;
    long connect_timeout_seconds;
    /// Aborts when fewer than 1024 bytes a second pass for this long; 0: never.
    long stall_seconds;
    /// Aborts the whole request after this long; 0: no limit.
    long timeout_seconds;
} kiln_curl_request;

/// What came back from kiln_curl_perform.
typedef struct {
    /// 0 whenever an answer came (its status is `http_status`), else the libcurl error code.
    int code;
    long http_status;
    /// Body bytes written to `download_fd`.
    long long bytes;
    /// The answer's body when it was not written to `download_fd`; free with kiln_curl_release.
    char *answer;
    size_t answer_length;
    /// The ETag header, quotes included; empty when there was none.
    char etag[160];
    /// The Content-Length header, -1 when there was none.
    long long content_length;
    /// Set when the failure was this host's (a file that cannot be read or written), not the network's.
    int local_error;
    char message[512];
} kiln_curl_response;

/// Performs `request`. Blocks the calling thread.
kiln_curl_response kiln_curl_perform(const kiln_curl_request *request);

/// Frees a response's `answer`.
void kiln_curl_release(kiln_curl_response *response);

#endif
