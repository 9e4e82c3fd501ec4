/* SPDX-License-Identifier: Apache-2.0 */
#include "producer.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topics[PRODUCER_MAX_TOPICS]; /* known from the start */
    int topic_cnt;
    producer_delivery_cb *cb;
    pthread_t poller;
    atomic_int stop;

    /* Readiness, kept up to date by the watcher thread so that /readyz
     * never waits on Kafka on an HTTP thread. */
    pthread_t watcher;
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_wake; /* signalled at close */
    int ready_checked;
    char not_ready[256]; /* "" when the last metadata request succeeded */
};

#define READY_CHECK_MS 1000   /* between metadata requests */
#define READY_TIMEOUT_MS 2000 /* for one answer */

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                           void *conf_opaque) {
    struct producer *p = conf_opaque;
    (void)rk;
    if (m->err)
        log_warn("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err));
    p->cb(m->_private, m->err, (long)rd_kafka_message_latency(m));
}

static void *producer_poll_loop(void *arg) {
    struct producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

static void *producer_watch_loop(void *arg) {
    struct producer *p = arg;
    pthread_mutex_lock(&p->ready_lock);
    while (!atomic_load(&p->stop)) {
        const struct rd_kafka_metadata *md;
        rd_kafka_resp_err_t err;
        struct timespec until;
        pthread_mutex_unlock(&p->ready_lock);
        char why[sizeof(p->not_ready)] = "";
        /* all_topics 0, no topic: the locally known ones, i.e. ours */
        err = rd_kafka_metadata(p->rk, 0, NULL, &md, READY_TIMEOUT_MS);
        if (err) {
            snprintf(why, sizeof(why), "Kafka metadata request failed: %s", rd_kafka_err2str(err));
        } else {
            for (int i = 0; i < md->topic_cnt && !why[0]; i++)
                if (md->topics[i].err)
                    snprintf(why, sizeof(why), "topic %s: %s (create it with its partitions "
                             "before starting ingest)", md->topics[i].topic,
                             rd_kafka_err2str(md->topics[i].err));
            rd_kafka_metadata_destroy(md);
        }
        pthread_mutex_lock(&p->ready_lock);
        p->ready_checked = 1;
        snprintf(p->not_ready, sizeof(p->not_ready), "%s", why);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += READY_CHECK_MS / 1000;
        if (!atomic_load(&p->stop))
            pthread_cond_timedwait(&p->ready_wake, &p->ready_lock, &until);
    }
    pthread_mutex_unlock(&p->ready_lock);
    return NULL;
}

struct producer *producer_new(rd_kafka_conf_t *conf, long ack_timeout_ms,
                              producer_delivery_cb *cb, char *errbuf,
                              size_t errsize) {
    struct producer *p = calloc(1, sizeof(*p));
    char timeout[32];
    /* Applied last so that -X cannot weaken the delivery guarantee. */
    const char *forced[][2] = {
        {"acks", "all"},
        {"enable.idempotence", "true"},
        {"message.timeout.ms", timeout},
    };
    char err[512];

    /* librdkafka's own timeout a second later than the collector's deadline,
     * which answers first (librdkafka reports a timeout only after it, and
     * was seen up to 9 s after it) */
    snprintf(timeout, sizeof(timeout), "%ld", ack_timeout_ms + 1000);
    for (size_t i = 0; i < sizeof(forced) / sizeof(forced[0]); i++)
        if (rd_kafka_conf_set(conf, forced[i][0], forced[i][1], err,
                              sizeof(err)) != RD_KAFKA_CONF_OK) {
            snprintf(errbuf, errsize, "%s: %s", forced[i][0], err);
            rd_kafka_conf_destroy(conf);
            free(p);
            return NULL;
        }
    p->cb = cb;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errsize);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->ready_lock, NULL);
    pthread_cond_init(&p->ready_wake, NULL);
    if (pthread_create(&p->poller, NULL, producer_poll_loop, p) ||
        pthread_create(&p->watcher, NULL, producer_watch_loop, p))
        abort(); /* only without memory for a thread, at start */
    return p;
}

rd_kafka_resp_err_t producer_send(struct producer *p, const char *topic,
                                  const char *key, const char *value,
                                  size_t len, const char *schema_id,
                                  void *opaque) {
    return rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_HEADER("schema", schema_id, -1), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_END);
}

int producer_queue_len(struct producer *p) { return rd_kafka_outq_len(p->rk); }

int producer_check_ready(struct producer *p, char *errbuf, size_t errsize) {
    int rc;
    pthread_mutex_lock(&p->ready_lock);
    if (!p->ready_checked)
        snprintf(errbuf, errsize, "Kafka not reached yet");
    else
        snprintf(errbuf, errsize, "%s", p->not_ready);
    rc = !p->ready_checked || p->not_ready[0] ? -1 : 0;
    pthread_mutex_unlock(&p->ready_lock);
    return rc;
}

void producer_warm(struct producer *p, const char *const *topics, int cnt, int timeout_ms) {
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;
    for (int i = 0; i < cnt && p->topic_cnt < PRODUCER_MAX_TOPICS; i++)
        p->topics[p->topic_cnt++] = rd_kafka_topic_new(p->rk, topics[i], NULL);
    /* all_topics 0 and no topic: the locally known ones, i.e. these. */
    err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (err) {
        log_warn("Kafka metadata for the topics: %s; the first events will wait for it",
                 rd_kafka_err2str(err));
        return;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (md->topics[i].err)
            log_warn("topic %s: %s", md->topics[i].topic, rd_kafka_err2str(md->topics[i].err));
    rd_kafka_metadata_destroy(md);
}

int producer_close(struct producer *p, int timeout_ms) {
    int left;
    rd_kafka_flush(p->rk, timeout_ms);
    left = rd_kafka_outq_len(p->rk);
    pthread_mutex_lock(&p->ready_lock);
    atomic_store(&p->stop, 1);
    pthread_cond_signal(&p->ready_wake);
    pthread_mutex_unlock(&p->ready_lock);
    pthread_join(p->poller, NULL);
    pthread_join(p->watcher, NULL);
    pthread_mutex_destroy(&p->ready_lock);
    pthread_cond_destroy(&p->ready_wake);
    for (int i = 0; i < p->topic_cnt; i++)
        rd_kafka_topic_destroy(p->topics[i]);
    rd_kafka_destroy(p->rk);
    free(p);
    return left;
}
