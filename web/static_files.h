/* SPDX-License-Identifier: Apache-2.0 */
/* static_files: serves the files under one directory, and nothing outside
 * it: ".." segments are refused before the path is touched, and the
 * resolved path (symlinks followed) must still lie inside the directory. */
#ifndef WEB_STATIC_FILES_H
#define WEB_STATIC_FILES_H

#include <microhttpd.h>

/* Resolves the directory once; 0, or -1 when it does not exist. */
int static_files_init(const char *dir);

/* Answers GET url ("/" and "/x/" mean their index.html): 200 with the file,
 * its content type and caching headers, or 404. */
enum MHD_Result static_files_serve(struct MHD_Connection *conn, const char *url);

#endif
