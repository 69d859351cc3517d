#include "kiln_curl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

/* One "Name: value" per line, into libcurl's list; *failed is set when memory ran out. */
static struct curl_slist *header_list(const char *headers, int *failed) {
    struct curl_slist *list = NULL;
    const char *start = headers;
    *failed = 0;
    while (start && *start) {
        const char *end = strchr(start, '\n');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        if (length > 0) {
            char *line = strndup(start, length);
            struct curl_slist *grown = line ? curl_slist_append(list, line) : NULL;
            free(line);
            if (!grown) {
                *failed = 1;
                return list;
            }
            list = grown;
        }
        start = end ? end + 1 : NULL;
    }
    return list;
}

typedef struct {
    CURL *curl;
    const kiln_curl_request *request;
    kiln_curl_response *response;
    long long sent;
    int write_errno;
    int read_errno;
    int over_limit;
} exchange;

/* Every connection, redirects' included, passes here: the address is the one libcurl is about to connect to. */
static curl_socket_t open_checked(void *context, curlsocktype purpose, struct curl_sockaddr *address) {
    exchange *state = context;
    const kiln_curl_request *request = state->request;
    (void)purpose;
    const unsigned char *bytes = NULL;
    int length = 0;
    if (address->family == AF_INET) {
        bytes = (const unsigned char *)&((const struct sockaddr_in *)&address->addr)->sin_addr;
        length = 4;
    } else if (address->family == AF_INET6) {
        bytes = (const unsigned char *)&((const struct sockaddr_in6 *)&address->addr)->sin6_addr;
        length = 16;
    }
    if (request->check && (!bytes || !request->check(bytes, length, request->check_context))) {
        if (bytes && state->response->refused_length == 0) {
            memcpy(state->response->refused, bytes, (size_t)length);
            state->response->refused_length = length;
        }
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static size_t keep_answer(exchange *state, const char *data, size_t length) {
    kiln_curl_response *response = state->response;
    if (response->answer_length + length > (1 << 20)) return 0;
    char *grown = realloc(response->answer, response->answer_length + length + 1);
    if (!grown) return 0;
    memcpy(grown + response->answer_length, data, length);
    response->answer = grown;
    response->answer_length += length;
    grown[response->answer_length] = 0;
    return length;
}

static size_t receive_block(char *data, size_t size, size_t count, void *context) {
    exchange *state = context;
    size_t length = size * count;
    long status = 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    long long limit = state->request->max_bytes;
    if (limit > 0 && state->response->bytes + (long long)state->response->answer_length + (long long)length > limit) {
        state->over_limit = 1;
        return 0;
    }
    // Only a successful answer's body (or a file's) is the object; an error's body is its explanation (S3's XML).
    if (state->request->download_fd < 0 || (status != 0 && (status < 200 || status > 299))) return keep_answer(state, data, length);
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(state->request->download_fd, data + done, length - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            state->write_errno = errno;
            return 0;
        }
        done += (size_t)n;
    }
    state->response->bytes += (long long)length;
    return length;
}

static size_t send_block(char *buffer, size_t size, size_t count, void *context) {
    exchange *state = context;
    const kiln_curl_request *request = state->request;
    long long left = request->upload_length - state->sent;
    if (request->upload_fd < 0 || left <= 0) return 0;
    size_t wanted = size * count;
    if ((long long)wanted > left) wanted = (size_t)left;
    for (;;) {
        ssize_t n = pread(request->upload_fd, buffer, wanted, (off_t)(request->upload_offset + state->sent));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            state->read_errno = errno;
            return CURL_READFUNC_ABORT;
        }
        if (n == 0) {
            // The file is shorter than promised: abort rather than hang until the stall timeout.
            state->read_errno = EIO;
            return CURL_READFUNC_ABORT;
        }
        state->sent += n;
        return (size_t)n;
    }
}

static int rewind_upload(void *context, curl_off_t offset, int origin) {
    exchange *state = context;
    if (origin != SEEK_SET || offset < 0 || offset > state->request->upload_length) return CURL_SEEKFUNC_FAIL;
    state->sent = (long long)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t receive_header(char *data, size_t size, size_t count, void *context) {
    exchange *state = context;
    size_t length = size * count;
    if (length > 5 && strncmp(data, "HTTP/", 5) == 0) {
        // A new answer (after "100 Continue", or a proxy's): forget the previous one's headers.
        state->response->etag[0] = 0;
        state->response->content_length = -1;
    } else if (length > 5 && strncasecmp(data, "etag:", 5) == 0) {
        const char *value = data + 5;
        while ((size_t)(value - data) < length && (*value == ' ' || *value == '\t')) value++;
        size_t n = length - (size_t)(value - data);
        while (n > 0 && (value[n - 1] == '\r' || value[n - 1] == '\n' || value[n - 1] == ' ')) n--;
        if (n >= sizeof state->response->etag) n = sizeof state->response->etag - 1;
        memcpy(state->response->etag, value, n);
        state->response->etag[n] = 0;
    } else if (length > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        state->response->content_length = strtoll(data + 15, NULL, 10);
    }
    return length;
}

kiln_curl_response kiln_curl_perform(const kiln_curl_request *request) {
    kiln_curl_response response = {0};
    response.content_length = -1;
    CURL *curl = curl_easy_init();
    if (!curl) {
        response.code = CURLE_FAILED_INIT;
        snprintf(response.message, sizeof response.message, "libcurl could not start");
        return response;
    }
    exchange state = {.curl = curl, .request = request, .response = &response};
    int failed = 0;
    struct curl_slist *list = header_list(request->headers, &failed);
    if (failed) {
        response.code = CURLE_OUT_OF_MEMORY;
        response.local_error = 1;
        snprintf(response.message, sizeof response.message, "out of memory for the request's headers");
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        return response;
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, request->protocols ? request->protocols : "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, request->max_redirects);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &state);
    if (request->check) curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (request->max_bytes > 0) curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)request->max_bytes);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request->connect_timeout_seconds);
    if (request->stall_seconds > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request->stall_seconds);
    }
    if (request->timeout_seconds > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT, request->timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    if (request->aws_sigv4) curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, request->aws_sigv4);
    if (request->user_password) curl_easy_setopt(curl, CURLOPT_USERPWD, request->user_password);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive_block);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, receive_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);

    if (strcmp(request->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(request->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, send_block);
        curl_easy_setopt(curl, CURLOPT_READDATA, &state);
        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, rewind_upload);
        curl_easy_setopt(curl, CURLOPT_SEEKDATA, &state);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(request->upload_fd < 0 ? 0 : request->upload_length));
    } else if (strcmp(request->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body ? request->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    } else if (strcmp(request->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.http_status);
    if (code != CURLE_OK && response.refused_length > 0) {
        response.code = KILN_CURL_REFUSED;
        snprintf(response.message, sizeof response.message, "the address was refused");
    } else if (state.over_limit || code == CURLE_FILESIZE_EXCEEDED) {
        response.code = KILN_CURL_OVER_LIMIT;
        snprintf(response.message, sizeof response.message, "larger than the limit of %lld bytes", request->max_bytes);
    } else if (code != CURLE_OK) {
        response.code = (int)code;
        if (state.write_errno) {
            response.local_error = 1;
            snprintf(response.message, sizeof response.message, "cannot write the download: %s", strerror(state.write_errno));
        } else if (state.read_errno) {
            response.local_error = 1;
            snprintf(response.message, sizeof response.message, "cannot read the upload: %s", strerror(state.read_errno));
        } else {
            snprintf(response.message, sizeof response.message, "%s", error[0] ? error : curl_easy_strerror(code));
        }
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return response;
}

void kiln_curl_release(kiln_curl_response *response) {
    free(response->answer);
    response->answer = NULL;
    response->answer_length = 0;
}
