/* SPDX-License-Identifier: Apache-2.0 */
#include "export_day.h"

#include "export_ledger.h"
#include "export_sink.h"
#include "fsutil.h"
#include "log.h"
#include "event.h"
#include "timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct part_file {
    char rel[LEDGER_PATH]; /* relative to the dt= directory: hour=HH/part-... */
    int32_t partition;
    int64_t first, last;
};

/* Reads a file once: its size, sha256, and the lines of its gzip content
 * (every member). 0, or -1 with errbuf saying what is wrong. */
static int file_digest(const char *path, uint64_t *bytes, char sha_hex[65], long *lines,
                       char *errbuf, size_t errsize) {
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md;
    z_stream z;
    unsigned char in[65536], out[65536], digest[32];
    int zrc = Z_OK, rc = -1, ended = 1;

    if (!f) {
        snprintf(errbuf, errsize, "%s", strerror(errno));
        return -1;
    }
    md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, 15 + 16);
    *bytes = 0;
    *lines = 0;
    for (;;) {
        size_t n = fread(in, 1, sizeof(in), f);
        if (n == 0)
            break;
        *bytes += n;
        EVP_DigestUpdate(md, in, n);
        z.next_in = in;
        z.avail_in = (uInt)n;
        while (z.avail_in) {
            if (zrc == Z_STREAM_END) { /* the next member */
                inflateReset(&z);
                ended = 0;
            }
            z.next_out = out;
            z.avail_out = sizeof(out);
            zrc = inflate(&z, Z_NO_FLUSH);
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
                snprintf(errbuf, errsize, "not valid gzip at byte %" PRIu64 ": %s",
                         *bytes - z.avail_in, z.msg ? z.msg : "error");
                goto out;
            }
            ended = zrc == Z_STREAM_END;
            for (unsigned char *p = out; (p = memchr(p, '\n', (size_t)(z.next_out - p))); p++)
                (*lines)++;
        }
    }
    if (ferror(f)) {
        snprintf(errbuf, errsize, "read error");
        goto out;
    }
    if (!ended || *bytes == 0) {
        snprintf(errbuf, errsize, "gzip data ends early (truncated file)");
        goto out;
    }
    EVP_DigestFinal_ex(md, digest, NULL);
    for (int i = 0; i < 32; i++)
        snprintf(sha_hex + 2 * i, 3, "%02x", digest[i]);
    rc = 0;
out:
    inflateEnd(&z);
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

static int parse_part_name(const char *name, const char *ext, struct part_file *pf) {
    int p, used = 0;
    long long first, last;
    if (sscanf(name, "part-%d-%lld-%lld%n", &p, &first, &last, &used) != 3 ||
        strcmp(name + used, ext) || first > last || first < 0)
        return -1;
    pf->partition = p;
    pf->first = first;
    pf->last = last;
    return 0;
}

static int cmp_part_file(const void *a, const void *b) {
    const struct part_file *x = a, *y = b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The files of OUT/type=T/dt=D, sorted by partition and offset. */
static int list_day(const char *daydir, const char *ext, struct part_file **files, int *cnt) {
    DIR *d = opendir(daydir), *h;
    struct dirent *e, *f;
    *files = NULL;
    *cnt = 0;
    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d))) {
        char hourdir[PATH_MAX];
        if (strncmp(e->d_name, "hour=", 5))
            continue;
        snprintf(hourdir, sizeof(hourdir), "%s/%s", daydir, e->d_name);
        if (!(h = opendir(hourdir)))
            continue;
        while ((f = readdir(h))) {
            struct part_file pf;
            if (parse_part_name(f->d_name, ext, &pf))
                continue;
            snprintf(pf.rel, sizeof(pf.rel), "%s/%s", e->d_name, f->d_name);
            if (!(*files = realloc(*files, (size_t)(*cnt + 1) * sizeof(**files))))
                abort();
            (*files)[(*cnt)++] = pf;
        }
        closedir(h);
    }
    closedir(d);
    qsort(*files, (size_t)*cnt, sizeof(**files), cmp_part_file);
    return 0;
}

/* "type=T/dt=D/hour=H": 1 when D <= date. */
static int dir_on_or_before(const char *dir, const char *date) {
    const char *dt = strstr(dir, "dt=");
    return dt && strncmp(dt + 3, date, 10) <= 0;
}

/* Publishes every ledger's pending renames for the topic and refuses when
 * one still holds rows of date or earlier in an open file. */
static int settle_ledgers(const char *out, const char *topic, const char *date, char *errbuf,
                          size_t errsize) {
    char dir[PATH_MAX], prefix[300];
    DIR *d;
    struct dirent *e;
    int rc = 0;
    snprintf(dir, sizeof(dir), "%s/_state", out);
    snprintf(prefix, sizeof(prefix), "%s-", topic);
    if (!(d = opendir(dir)))
        return 0;
    while (rc == 0 && (e = readdir(d))) {
        int partition, used = 0, lock;
        struct ledger l;
        if (strncmp(e->d_name, prefix, strlen(prefix)) ||
            sscanf(e->d_name + strlen(prefix), "%d.ledger%n", &partition, &used) != 1 ||
            e->d_name[strlen(prefix) + (size_t)used] != 0)
            continue;
        if ((lock = ledger_lock(out, topic, partition)) < 0)
            continue;
        if (ledger_read(out, topic, partition, &l) == 0) {
            if (ledger_roll_forward(out, &l, errbuf, errsize))
                rc = -1;
            else if (l.has_open && dir_on_or_before(l.open.dir, date)) {
                snprintf(errbuf, errsize,
                         "%s [%d] still has an open file with rows of %.10s (%s, exporter %s): "
                         "it is published after --max-age, or when that exporter stops",
                         topic, partition, strstr(l.open.dir, "dt=") + 3, l.open.tmp, l.owner);
                rc = -1;
            }
            ledger_free(&l);
        }
        ledger_unlock(lock);
    }
    closedir(d);
    return rc;
}

static int close_type(const char *out, const char *topic_prefix, enum schema_type type,
                      const char *date, int csv, char *errbuf, size_t errsize) {
    char daydir[2048], path[PATH_MAX], topic[256], closed_at[TIMEFMT_LEN];
    const char *ext = export_file_ext(csv);
    struct part_file *files;
    json_t *list, *manifest;
    long total_rows = 0;
    uint64_t total_bytes = 0;
    char *text;
    int cnt, rc = -1;

    snprintf(topic, sizeof(topic), "%s.%s", topic_prefix, schema_type_name(type));
    snprintf(daydir, sizeof(daydir), "%s/type=%s/dt=%s", out, schema_type_name(type), date);
    if (settle_ledgers(out, topic, date, errbuf, errsize))
        return -1;
    if (list_day(daydir, ext, &files, &cnt)) {
        snprintf(errbuf, errsize, "%s: %s", daydir, strerror(errno));
        return -1;
    }
    if (cnt == 0) {
        free(files);
        return 0;
    }
    list = json_array();
    for (int i = 0; i < cnt; i++) {
        uint64_t bytes;
        long lines;
        char sha[65], why[256];
        snprintf(path, sizeof(path), "%s/%s", daydir, files[i].rel);
        if (file_digest(path, &bytes, sha, &lines, why, sizeof(why))) {
            snprintf(errbuf, errsize, "%s: %s", path, why);
            json_decref(list);
            goto out;
        }
        if (csv)
            lines--; /* the header */
        total_rows += lines;
        total_bytes += bytes;
        json_array_append_new(
            list, json_pack("{s:s,s:I,s:I,s:s,s:s,s:i,s:I,s:I}", "path", files[i].rel, "rows",
                            (json_int_t)lines, "bytes", (json_int_t)bytes, "sha256", sha, "topic",
                            topic, "partition", (int)files[i].partition, "first_offset",
                            (json_int_t)files[i].first, "last_offset",
                            (json_int_t)files[i].last));
    }
    timefmt_format(timefmt_now_ms(), closed_at);
    manifest = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:i,s:o}", "type", schema_type_name(type),
                         "date", date, "schema", schema_type_id(type), "format",
                         csv ? "csv" : "ndjson", "closed_at", closed_at, "rows",
                         (json_int_t)total_rows, "bytes", (json_int_t)total_bytes, "file_count",
                         cnt, "files", list);
    text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(manifest);
    snprintf(path, sizeof(path), "%s/_manifest.json", daydir);
    if (fs_write_atomic(path, text, strlen(text))) {
        snprintf(errbuf, errsize, "%s: %s", path, strerror(errno));
        free(text);
        goto out;
    }
    free(text);
    snprintf(path, sizeof(path), "%s/_SUCCESS", daydir);
    if (fs_write_atomic(path, "", 0)) {
        snprintf(errbuf, errsize, "%s: %s", path, strerror(errno));
        goto out;
    }
    log_info("closed %s: %d files, %ld rows", daydir, cnt, total_rows);
    rc = 1;
out:
    free(files);
    return rc;
}

int export_day_close(const char *out, const char *topic_prefix, const char *date, int csv,
                     char *errbuf, size_t errsize) {
    int closed = 0;
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++) {
        int rc = close_type(out, topic_prefix, (enum schema_type)t, date, csv, errbuf, errsize);
        if (rc < 0)
            return -1;
        closed += rc;
    }
    return closed;
}

static void shift_date(const char *date, int days, char out[11]) {
    char buf[40], ts[TIMEFMT_LEN];
    int64_t ms = 0;
    snprintf(buf, sizeof(buf), "%.10sT00:00:00Z", date);
    timefmt_parse(buf, &ms);
    timefmt_format(ms + (int64_t)days * 86400000, ts);
    memcpy(out, ts, 10);
    out[10] = 0;
}

/* 1 when the neighbouring days' files of the partition cover [from, to]. */
static int gap_covered(const char *typedir, const char *date, const char *ext, int32_t partition,
                       int64_t from, int64_t to) {
    struct part_file *near[2];
    int cnt[2], progress = 1;
    for (int i = 0; i < 2; i++) {
        char day[11], daydir[2048];
        shift_date(date, i ? 1 : -1, day);
        snprintf(daydir, sizeof(daydir), "%s/dt=%s", typedir, day);
        if (list_day(daydir, ext, &near[i], &cnt[i]))
            near[i] = NULL, cnt[i] = 0;
    }
    while (from <= to && progress) {
        progress = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < cnt[i]; j++)
                if (near[i][j].partition == partition && near[i][j].first <= from &&
                    near[i][j].last >= from) {
                    from = near[i][j].last + 1;
                    progress = 1;
                }
    }
    free(near[0]);
    free(near[1]);
    return from > to;
}

static int verify_type(const char *out, const char *typename, const char *date, int csv,
                       FILE *report) {
    char typedir[1024], daydir[2048], path[PATH_MAX];
    const char *ext = export_file_ext(csv);
    struct part_file *disk, *listed;
    json_t *manifest, *files;
    json_error_t jerr;
    int problems = 0, cnt, listed_cnt = 0;

    snprintf(typedir, sizeof(typedir), "%s/%s", out, typename);
    snprintf(daydir, sizeof(daydir), "%s/dt=%s", typedir, date);
    snprintf(path, sizeof(path), "%s/_SUCCESS", daydir);
    if (access(path, F_OK)) {
        fprintf(report, "%s: missing (the day is not closed)\n", path);
        problems++;
    }
    snprintf(path, sizeof(path), "%s/_manifest.json", daydir);
    if (!(manifest = json_load_file(path, 0, &jerr))) {
        fprintf(report, "%s: %s\n", path, jerr.text);
        return problems + 1;
    }
    files = json_object_get(manifest, "files");
    listed = calloc(json_array_size(files) + 1, sizeof(*listed));
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        const char *rel = json_string_value(json_object_get(f, "path"));
        const char *want_sha = json_string_value(json_object_get(f, "sha256"));
        json_int_t want_rows = json_integer_value(json_object_get(f, "rows"));
        json_int_t want_bytes = json_integer_value(json_object_get(f, "bytes"));
        const char *slash = rel ? strrchr(rel, '/') : NULL;
        struct part_file pf;
        uint64_t bytes;
        long lines;
        char sha[65], why[256];
        if (!rel || !want_sha || !slash || parse_part_name(slash + 1, ext, &pf) ||
            pf.first != json_integer_value(json_object_get(f, "first_offset")) ||
            pf.last != json_integer_value(json_object_get(f, "last_offset")) ||
            pf.partition != json_integer_value(json_object_get(f, "partition"))) {
            fprintf(report, "%s/_manifest.json: entry %zu is malformed or disagrees with its "
                            "file name\n", daydir, i);
            problems++;
            continue;
        }
        snprintf(pf.rel, sizeof(pf.rel), "%s", rel);
        listed[listed_cnt++] = pf;
        snprintf(path, sizeof(path), "%s/%s", daydir, rel);
        if (access(path, F_OK)) {
            fprintf(report, "%s: missing\n", path);
            problems++;
            continue;
        }
        if (file_digest(path, &bytes, sha, &lines, why, sizeof(why))) {
            fprintf(report, "%s: %s\n", path, why);
            problems++;
            continue;
        }
        if (csv)
            lines--;
        if ((json_int_t)bytes != want_bytes) {
            fprintf(report, "%s: %" PRIu64 " bytes, the manifest says %" JSON_INTEGER_FORMAT "\n",
                    path, bytes, want_bytes);
            problems++;
        } else if (strcmp(sha, want_sha)) {
            fprintf(report, "%s: sha256 %s, the manifest says %s\n", path, sha, want_sha);
            problems++;
        } else if (lines != want_rows) {
            fprintf(report, "%s: %ld rows, the manifest says %" JSON_INTEGER_FORMAT "\n", path,
                    lines, want_rows);
            problems++;
        } else if (lines > pf.last - pf.first + 1) {
            fprintf(report, "%s: %ld rows from only %" PRId64 " offsets\n", path, lines,
                    pf.last - pf.first + 1);
            problems++;
        }
    }
    json_decref(manifest);
    if (list_day(daydir, ext, &disk, &cnt) == 0) {
        for (int i = 0; i < cnt; i++) {
            int found = 0;
            for (int j = 0; j < listed_cnt && !found; j++)
                found = !strcmp(disk[i].rel, listed[j].rel);
            if (!found) {
                fprintf(report, "%s/%s: not in the manifest\n", daydir, disk[i].rel);
                problems++;
            }
        }
        free(disk);
    }
    qsort(listed, (size_t)listed_cnt, sizeof(*listed), cmp_part_file);
    for (int i = 1; i < listed_cnt; i++) {
        const struct part_file *a = &listed[i - 1], *b = &listed[i];
        if (a->partition != b->partition)
            continue;
        if (b->first <= a->last) {
            fprintf(report, "%s/%s: offsets %" PRId64 "-%" PRId64 " overlap %s\n", daydir,
                    b->rel, b->first, b->last, a->rel);
            problems++;
        } else if (b->first > a->last + 1 &&
                   !gap_covered(typedir, date, ext, a->partition, a->last + 1, b->first - 1)) {
            fprintf(report, "%s/%s: offsets %" PRId64 "-%" PRId64
                            " of partition %d are in no file (after %s)\n",
                    daydir, b->rel, a->last + 1, b->first - 1, (int)a->partition, a->rel);
            problems++;
        }
    }
    free(listed);
    return problems;
}

int export_day_verify(const char *out, const char *date, int csv, FILE *report) {
    int problems = 0, days = 0;
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++) {
        char typename[64], daydir[2048];
        struct stat st;
        snprintf(typename, sizeof(typename), "type=%s", schema_type_name((enum schema_type)t));
        snprintf(daydir, sizeof(daydir), "%s/%s/dt=%s", out, typename, date);
        if (stat(daydir, &st))
            continue;
        days++;
        problems += verify_type(out, typename, date, csv, report);
    }
    return days ? problems : -1;
}

/* 1 when every partition of topic is past day_end (see export_day.h). */
static int topic_ready(const char *out, const char *topic, const char *date, int64_t day_end,
                       rd_kafka_t *rk) {
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ready = 1;
    if (!rkt)
        return 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000)) {
        rd_kafka_topic_destroy(rkt);
        return 0;
    }
    for (int i = 0; ready && i < md->topic_cnt; i++)
        for (int j = 0; ready && j < md->topics[i].partition_cnt; j++) {
            int32_t partition = md->topics[i].partitions[j].id;
            int64_t lo, hi;
            struct ledger l;
            int n;
            if (rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, 5000)) {
                ready = 0;
                break;
            }
            n = ledger_read(out, topic, partition, &l);
            if (n == 1)
                ready = hi <= lo; /* nothing was ever exported: only if there is nothing */
            else if (n < 0 || l.rename_cnt || (l.has_open && dir_on_or_before(l.open.dir, date)))
                ready = 0;
            else
                ready = l.max_received_ms >= day_end || l.next >= hi;
            ledger_free(&l);
        }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return ready;
}

void export_day_autoclose(const char *out, const char *topic_prefix, int csv, int64_t grace_ms,
                          rd_kafka_t *rk) {
    static int64_t last_check;
    int64_t now = timefmt_now_ms();
    if (now - last_check < 10000)
        return;
    last_check = now;
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++) {
        const char *name = schema_type_name((enum schema_type)t);
        char typedir[1024], topic[256], errbuf[PATH_MAX + 256];
        DIR *d;
        struct dirent *e;
        snprintf(typedir, sizeof(typedir), "%s/type=%s", out, name);
        snprintf(topic, sizeof(topic), "%s.%s", topic_prefix, name);
        if (!(d = opendir(typedir)))
            continue;
        while ((e = readdir(d))) {
            char path[PATH_MAX + 16], buf[40];
            int64_t start;
            if (strncmp(e->d_name, "dt=", 3) || strlen(e->d_name) != 13)
                continue;
            snprintf(path, sizeof(path), "%s/%s/_SUCCESS", typedir, e->d_name);
            snprintf(buf, sizeof(buf), "%sT00:00:00Z", e->d_name + 3);
            if (!access(path, F_OK) || timefmt_parse(buf, &start) ||
                now < start + 86400000 + grace_ms ||
                !topic_ready(out, topic, e->d_name + 3, start + 86400000 + grace_ms, rk))
                continue;
            if (close_type(out, topic_prefix, (enum schema_type)t, e->d_name + 3, csv, errbuf,
                           sizeof(errbuf)) < 0)
                log_warn("cannot close %s/%s yet: %s", typedir, e->d_name, errbuf);
        }
        closedir(d);
    }
}
