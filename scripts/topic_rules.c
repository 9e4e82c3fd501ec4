/* SPDX-License-Identifier: Apache-2.0 */
#include "topic_rules.h"

int topic_rules_check(const struct topic_facts *t, int n, long export_grace_s, FILE *out) {
    int errors = 0, partitions = -1;
    /* the exporter closes a day export_grace_s after its end: until then
     * its messages must still be in Kafka */
    long long need_ms = (86400LL + export_grace_s) * 1000;
    for (int i = 0; i < n; i++) {
        if (!t[i].exists) {
            fprintf(out, "ERROR topic %s does not exist (activity-topics create makes it)\n",
                    t[i].name);
            errors++;
            continue;
        }
        if (t[i].replication >= 0 && t[i].replication < 3)
            fprintf(out, "WARN topic %s: replication factor %d; 3 keeps acknowledged events "
                         "through a broker loss\n", t[i].name, t[i].replication);
        if (t[i].min_insync >= 0 && t[i].min_insync < 2)
            fprintf(out, "WARN topic %s: min.insync.replicas %ld; with acks=all an event is "
                         "then acknowledged by one broker alone (2 wants a second copy)\n",
                    t[i].name, t[i].min_insync);
        if (t[i].retention_ms > 0 && t[i].retention_ms < need_ms)
            fprintf(out, "WARN topic %s: retention.ms %lld is shorter than a day plus the "
                         "export's grace (%lld ms): a day's file could miss events\n",
                    t[i].name, t[i].retention_ms, need_ms);
        if (t[i].event_topic && t[i].partitions >= 0) {
            if (partitions >= 0 && t[i].partitions != partitions)
                fprintf(out, "WARN topic %s has %d partitions, another event topic %d: "
                             "workers then share the topics unevenly\n",
                        t[i].name, t[i].partitions, partitions);
            partitions = t[i].partitions;
        }
    }
    return errors;
}
