#ifndef KILN_CURL_H
#define KILN_CURL_H

#include <stddef.h>

/// Asked before every connection libcurl opens (the first and each
/// redirect's): 1 lets it connect to `address` (`length` 4 for IPv4, 16 for
/// IPv6, network order), 0 refuses it.
typedef int (*kiln_curl_address_check)(const unsigned char *address, int length, void *context);

/// One HTTP request (or, with `protocols` "file", one local read): what to
/// send, where the answer goes, and what the transfer may do. libcurl's
/// setopt is variadic, which Swift cannot call: this shim is the whole C
/// surface, and every transfer of Kiln's goes through it.
typedef struct {
    /// GET, HEAD, PUT, POST or DELETE.
    const char *method;
    const char *url;
    /// One "Name: value" per line, or NULL.
    const char *headers;
    /// libcurl's protocol list; NULL means "http,https".
    const char *protocols;
    /// Redirects followed (only to http and https), at most; 0 follows none.
    long max_redirects;
    /// Bytes of the answer's body accepted, at most (the Content-Length is
    /// checked first, then every byte is counted); 0: no limit.
    long long max_bytes;
    /// Checks each address before a socket is opened to it; NULL: none is
    /// checked. With a check, no proxy is used: it would connect where the
    /// check cannot see.
    kiln_curl_address_check check;
    void *check_context;
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
    /// A 2xx answer's body (or a file's) goes to this descriptor; -1 keeps
    /// it in memory (up to 1 MiB). Other answers' bodies are always kept in memory.
    int download_fd;
    long connect_timeout_seconds;
    /// Aborts when fewer than 1024 bytes a second pass for this long; 0: never.
    long stall_seconds;
    /// Aborts the whole request, redirects included, after this long; 0: no limit.
    long timeout_seconds;
} kiln_curl_request;

/// Codes of kiln_curl_response beyond libcurl's own.
enum {
    /// The answer's body passed `max_bytes`.
    KILN_CURL_OVER_LIMIT = -1,
    /// The address check refused a connection (`refused` holds the address).
    KILN_CURL_REFUSED = -2,
};

/// What came back from kiln_curl_perform.
typedef struct {
    /// 0 whenever an answer came (its status is `http_status`), else the
    /// libcurl error code or one of KILN_CURL_OVER_LIMIT and KILN_CURL_REFUSED.
    int code;
    /// The HTTP status (0 for file:// or when no response came).
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
    /// The first address the check refused (4 or 16 bytes, network order); `refused_length` 0 when none was.
    unsigned char refused[16];
    int refused_length;
    /// A message naming the problem, empty on success.
    char message[512];
} kiln_curl_response;

/// Performs `request`. Blocks the calling thread.
kiln_curl_response kiln_curl_perform(const kiln_curl_request *request);

/// Frees a response's `answer`.
void kiln_curl_release(kiln_curl_response *response);

#endif
