/* SPDX-License-Identifier: Apache-2.0 */
#include "static_files.h"

#include "http.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX];
static size_t root_len;

static const struct {
    const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},     {".svg", "image/svg+xml"},
    {".png", "image/png"},                   {".ico", "image/x-icon"},
    {".json", "application/json"},           {".txt", "text/plain; charset=utf-8"},
};

int static_files_init(const char *dir) {
    if (!realpath(dir, root))
        return -1;
    root_len = strlen(root);
    return 0;
}

static const char *content_type(const char *path) {
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(content_types) / sizeof(content_types[0]); i++)
        if (!strcmp(dot, content_types[i].ext))
            return content_types[i].type;
    return "application/octet-stream";
}

static int has_dotdot_segment(const char *url) {
    for (const char *p = url; (p = strstr(p, "..")); p += 2)
        if ((p == url || p[-1] == '/') && (p[2] == 0 || p[2] == '/'))
            return 1;
    return 0;
}

enum MHD_Result static_files_serve(struct MHD_Connection *conn, const char *url) {
    char wanted[PATH_MAX], real[PATH_MAX];
    struct MHD_Response *resp;
    struct stat st;
    int fd;
    size_t len = strlen(url);

    /* MHD has already percent-decoded url, so %2e%2e arrives here as "..". */
    if (url[0] != '/' || has_dotdot_segment(url) || strchr(url, '\\') ||
        snprintf(wanted, sizeof(wanted), "%s%s%s", root, url,
                 url[len - 1] == '/' ? "index.html" : "") >= (int)sizeof(wanted) ||
        !realpath(wanted, real) || strncmp(real, root, root_len) || real[root_len] != '/' ||
        (fd = open(real, O_RDONLY | O_CLOEXEC)) < 0)
        return http_send_error(conn, 404, "not found", NULL);
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return http_send_error(conn, 404, "not found", NULL);
    }
    resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* closes fd */
    MHD_add_response_header(resp, "Content-Type", content_type(real));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* pages are looked at for new versions every time; assets for an hour */
    MHD_add_response_header(resp, "Cache-Control",
                            strstr(real, ".html") ? "no-cache" : "public, max-age=3600");
    return http_queue(conn, 200, resp, NULL);
}
