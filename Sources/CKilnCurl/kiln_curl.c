#include "kiln_curl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int fd;
    long long written;
    long long limit;
    int over_limit;
    int write_errno;
} sink;

static size_t write_block(char *data, size_t size, size_t count, void *context) {
    sink *target = context;
    size_t length = size * count;
    if (target->written + (long long)length > target->limit) {
        target->over_limit = 1;
        return 0;
    }
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(target->fd, data + done, length - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            target->write_errno = errno;
            return 0;
        }
        done += (size_t)n;
    }
    target->written += (long long)length;
    return length;
}

kiln_curl_result kiln_curl_download(const char *url, int fd, long long max_bytes, long timeout_seconds) {
    kiln_curl_result result = {0};
    CURL *curl = curl_easy_init();
    if (!curl) {
        result.code = CURLE_FAILED_INIT;
        snprintf(result.message, sizeof result.message, "libcurl could not start");
        return result;
    }
    sink target = {.fd = fd, .limit = max_bytes};
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln");
    if (max_bytes > 0) curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_block);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &target);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.http_status);
    result.bytes = target.written;
    if (target.over_limit || code == CURLE_FILESIZE_EXCEEDED) {
        result.code = -1;
        snprintf(result.message, sizeof result.message, "larger than the limit of %lld bytes", max_bytes);
    } else if (code != CURLE_OK) {
        result.code = (int)code;
        if (target.write_errno) {
            snprintf(result.message, sizeof result.message, "cannot write the download: %s", strerror(target.write_errno));
        } else {
            snprintf(result.message, sizeof result.message, "%s", error[0] ? error : curl_easy_strerror(code));
        }
    }
    curl_easy_cleanup(curl);
    return result;
}

static size_t discard_block(char *data, size_t size, size_t count, void *context) {
    (void)data;
    long long *seen = context;
    *seen += (long long)(size * count);
    return *seen > (1 << 20) ? 0 : size * count;
}

kiln_curl_result kiln_curl_post(const char *url, const char *headers, const char *body, size_t body_length, long timeout_seconds) {
    kiln_curl_result result = {0};
    CURL *curl = curl_easy_init();
    if (!curl) {
        result.code = CURLE_FAILED_INIT;
        snprintf(result.message, sizeof result.message, "libcurl could not start");
        return result;
    }
    struct curl_slist *list = NULL;
    char line[2048];
    const char *start = headers;
    while (start && *start) {
        const char *end = strchr(start, '\n');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        if (length > 0 && length < sizeof line) {
            memcpy(line, start, length);
            line[length] = 0;
            list = curl_slist_append(list, line);
        }
        start = end ? end + 1 : NULL;
    }
    long long seen = 0;
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_block);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &seen);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.http_status);
    result.bytes = seen;
    if (code != CURLE_OK) {
        result.code = (int)code;
        snprintf(result.message, sizeof result.message, "%s", error[0] ? error : curl_easy_strerror(code));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return result;
}
