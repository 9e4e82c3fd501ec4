/* SPDX-License-Identifier: Apache-2.0 */
/* topic_rules: what activity-topics checks on a cluster's topics, apart
 * from Kafka so that it can be unit-tested with facts of any cluster. */
#ifndef SCRIPTS_TOPIC_RULES_H
#define SCRIPTS_TOPIC_RULES_H

#include <stddef.h>
#include <stdio.h>

/* What was found out about one topic; -1 where it is not known. */
struct topic_facts {
    const char *name;
    int exists;
    int partitions;
    int replication;   /* replicas of its first partition */
    long min_insync;   /* min.insync.replicas */
    long long retention_ms; /* retention.ms; -1 (infinite) is stored as 0 */
    int event_topic;   /* one of the three event topics (not .invalid) */
};

/* Writes one line per problem to out ("ERROR ..." for a missing topic,
 * "WARN ..." for a weaker setting than production wants: replication below
 * 3, min.insync.replicas below 2 (acks=all then survives no broker loss),
 * event topics with different partition counts, retention shorter than a
 * day plus the export's grace). Returns the number of ERROR lines. */
int topic_rules_check(const struct topic_facts *t, int n, long export_grace_s, FILE *out);

#endif
