/* workers/recorder/main.c: revisit-recorder, which copies every topic
 * into PostgreSQL (DESIGN §3, §5). Wiring only: the shared worker runtime
 * (rv/worker.h: config, signals, clients, rv_runner_run, drain) calls
 * record_batch for every batch; rows are built in recorder_rows.c.
 *
 * One batch is one transaction: an INSERT ... SELECT FROM unnest(one
 * text[] per column) ON CONFLICT DO NOTHING per table and chunk of rows,
 * and the partitions' next offsets (recorder_offsets),
 * then COMMIT, and only then does the runner commit the Kafka offsets,
 * which are only a hint: on assignment the recorder starts where
 * PostgreSQL says (issue 6, exactly-once sink). A retried batch inserts
 * nothing twice.
 *
 * Phone numbers reach the record masked (phone_masked) and sealed with
 * the key of pii.key.file (phone_enc, rv/pii.h); never clear. Before it
 * records anything the recorder checks that key against the record's
 * (pii_key_check) and does not start with another (exit 78). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recorder_rows.h"
#include "rv/kafka.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/pii.h"
#include "rv/worker.h"

/* Every topic and its dead-letter twin (DESIGN §3). */
#define DEFAULT_TOPICS                                                         \
    "sales.events,service.events,visits.tasks,visits.retries,"                 \
    "visits.assignments,visits.outcomes,visits.grades,compliance.alerts,"      \
    "compliance.cases,sales.events.dlq,service.events.dlq,visits.tasks.dlq,"   \
    "visits.retries.dlq,visits.assignments.dlq,visits.outcomes.dlq,"           \
    "visits.grades.dlq,compliance.alerts.dlq,compliance.cases.dlq,"            \
    "visits.decisions,visits.decisions.dlq"

/* Recorder's own keys. */
typedef struct recorder_cfg {
    /* The key that seals phone numbers into phone_enc (rv/pii.h). */
    char *pii_key_file;
    /* Fault injection for the exactly-once test: exit (137, as if
     * killed) right after this many batch COMMITs, before the Kafka
     * commit; 0 = never. */
    int64_t crash_after_commits;
} recorder_cfg;

static recorder_cfg rec_cfg; /* filled by rv_worker_main's config load */

#define F(m) offsetof(recorder_cfg, m)
static const rv_cfg_key recorder_keys[] = {
    /* Required: without a key the record would keep only the masked
     * number and lose the number itself, so the recorder does not
     * start (exit 78) rather than write rows it cannot complete. */
    {"pii.key.file", RV_CFG_STR, F(pii_key_file), NULL, 0, 0, RV_CFG_REQUIRED,
     "file holding the 64-byte key (128 hex digits, mode 0600) that seals "
     "phone numbers into phone_enc (AES-256-SIV)"},
    {"recorder.crash_after_commits", RV_CFG_INT, F(crash_after_commits), "0", 0,
     1000000, 0,
     "tests only: exit 137 after this many batch commits, before the Kafka "
     "commit (0 = never)"},
    {0},
};
#undef F

/* Partitions a batch stores offsets for, at most (one per partition of
 * the recorder's topics). */
#define OFFSETS_MAX 4096

typedef struct recorder {
    rv_pg *pg;
    rv_pii_key *key;   /* owned; the rows borrow it */
    const char *group; /* the consumer group, key of recorder_offsets */
    int64_t commits;
    recorder_rows *rows;
    char *insert_sql[RECORDER_TABLE_COUNT]; /* recorder_insert_sql, owned */
    unsigned char *dead; /* per message of the batch: dead-lettered */
    size_t dead_cap;
    rv_log_ratelimit reject_rl;
    rv_log_ratelimit pg_rl;
    uint64_t rows_inserted;
    uint64_t dead_lettered;
    uint64_t fallbacks;
} recorder;

static void log_rejected(recorder *rec, const rv_msg *m, const char *why,
                         const char *reason)
{
    uint64_t suppressed = 0;
    if (rv_log_ratelimit_allow(&rec->reject_rl, &suppressed)) {
        RV_LOG(RV_LOG_WARN, "message_rejected", RV_KV_STR("topic", m->topic),
               RV_KV_INT("partition", m->partition),
               RV_KV_INT("offset", m->offset), RV_KV_STR("why", why),
               RV_KV_STR("reason", reason),
               RV_KV_INT("suppressed", (int64_t)suppressed));
    }
}

/* Send @p m to its dead-letter topic. A full queue (RV_ERR_FULL) makes
 * the runner retry the batch; so does a refused send, which needs a
 * human (a missing .dlq topic). Dead letters are keyed by their source,
 * so a resend is recorded once. */
static rv_err dead_letter(recorder *rec, rv_producer *kp, const rv_msg *m,
                          const char *reason)
{
    rv_err err = rv_producer_send_dlq(kp, m, reason);
    if (err == RV_ERR_INVALID) {
        RV_LOG(RV_LOG_ERROR, "dead_letter_failed", RV_KV_STR("topic", m->topic),
               RV_KV_INT("partition", m->partition),
               RV_KV_INT("offset", m->offset),
               RV_KV_STR("error", rv_err_str(err)));
        err = RV_ERR_UNAVAILABLE;
    }
    if (err == RV_OK) {
        rec->dead_lettered++;
    }
    return err;
}

/* The prepared INSERT of table @p t: its name (into @p name, 32 bytes). */
static const char *insert_name(recorder_table t, char name[32])
{
    snprintf(name, 32, "recorder_insert_%d", (int)t);
    return name;
}

/* Rows [@p first, @p first + @p n) of table @p t: run now, or, in a
 * pipelined transaction (@p piped), sent to run while the next table's
 * arrays are built, with their count read at commit. */
static rv_err insert_rows(recorder *rec, recorder_table t, size_t first,
                          size_t n, bool piped, uint64_t *inserted,
                          char *errstr, size_t errstr_size)
{
    const char *const *params = NULL;
    rv_err err = recorder_rows_arrays(rec->rows, t, first, n, &params);
    if (err != RV_OK) {
        return err == RV_ERR_NOMEM ? err : RV_ERR_FATAL;
    }
    /* Prepared once a session: PostgreSQL parsed, analysed and planned
     * each batch's INSERTs again, 13% of the recorder's backend at 1,000
     * sales/s (perf, issue 8). */
    char name[32];
    insert_name(t, name);
    if (piped) {
        return rv_pg_txn_send(rec->pg, name, recorder_table_column_count(t),
                              params, true, errstr, errstr_size);
    }
    rv_pg_result *res = NULL;
    err = rv_pg_exec_prepared(rec->pg, name, rec->insert_sql[t],
                              recorder_table_column_count(t), params, &res,
                              errstr, errstr_size);
    if (err == RV_OK) {
        *inserted += (uint64_t)rv_pg_result_affected(res);
    }
    rv_pg_result_free(res);
    return err;
}

/* The offsets upsert, prepared once a session: a row per partition from
 * three arrays (topics, partitions, next offsets), as the fact rows are
 * sent, so PostgreSQL plans it once rather than a VALUES list a batch. */
static const char offsets_sql[] =
    "INSERT INTO recorder_offsets (group_id, topic, partition, next_offset) "
    "SELECT $1, u.topic, u.partition, u.next_offset "
    "FROM unnest($2::text[], $3::integer[], $4::bigint[]) "
    "AS u(topic, partition, next_offset) "
    "ON CONFLICT (group_id, topic, partition) DO UPDATE SET "
    "next_offset = GREATEST(recorder_offsets.next_offset, "
    "EXCLUDED.next_offset), updated_at = now()";

/* Appends @p s to @p buf (capacity @p size, used @p *used) as a quoted
 * element of an array literal: '"' and '\\' escaped. False when full. */
static bool put_array_text(char *buf, size_t size, size_t *used, const char *s)
{
    size_t u = *used;
    if (u + 1 >= size) {
        return false;
    }
    buf[u++] = '"';
    for (; *s != '\0'; s++) {
        if (u + 3 >= size) {
            return false;
        }
        if (*s == '"' || *s == '\\') {
            buf[u++] = '\\';
        }
        buf[u++] = *s;
    }
    if (u + 1 >= size) {
        return false;
    }
    buf[u++] = '"';
    buf[u] = '\0';
    *used = u;
    return true;
}

/* The next offset of every partition of the batch, one row each (a batch
 * holds a partition's messages in order, but several times: ON CONFLICT
 * DO UPDATE may not touch one row twice in a statement, so the batch is
 * de-duplicated first), stored with GREATEST so a late retry never moves
 * a partition back. */
static rv_err store_offsets(recorder *rec, const rv_msg *msgs, size_t count,
                            bool piped, char *errstr, size_t errstr_size)
{
    static const char *topic[OFFSETS_MAX];
    static int32_t part[OFFSETS_MAX];
    static int64_t next[OFFSETS_MAX];
    size_t n = 0;
    size_t topics_size = 8;
    for (size_t i = 0; i < count; i++) {
        size_t j = 0;
        while (j < n && !(part[j] == msgs[i].partition &&
                          strcmp(topic[j], msgs[i].topic) == 0)) {
            j++;
        }
        if (j == n) {
            if (n == OFFSETS_MAX) {
                return RV_ERR_FULL;
            }
            topic[n] = msgs[i].topic;
            part[n] = msgs[i].partition;
            next[n++] = msgs[i].offset + 1;
            topics_size += 2 * strlen(msgs[i].topic) + 3;
        } else if (msgs[i].offset + 1 > next[j]) {
            next[j] = msgs[i].offset + 1;
        }
    }
    if (n == 0) {
        return RV_OK;
    }
    /* An int32 takes 11 characters at most, an int64 20, and a comma. */
    size_t parts_size = 3 + n * 12, nexts_size = 3 + n * 21;
    char *topics = malloc(topics_size);
    char *parts = malloc(parts_size);
    char *nexts = malloc(nexts_size);
    rv_err err =
        topics != NULL && parts != NULL && nexts != NULL ? RV_OK : RV_ERR_NOMEM;
    size_t tu = 0, pu = 0, nu = 0;
    if (err == RV_OK) {
        topics[tu++] = '{';
        parts[pu++] = '{';
        nexts[nu++] = '{';
    }
    for (size_t j = 0; err == RV_OK && j < n; j++) {
        const char *sep = j > 0 ? "," : "";
        if (j > 0) {
            topics[tu++] = ',';
        }
        if (!put_array_text(topics, topics_size, &tu, topic[j])) {
            err = RV_ERR_FATAL; /* sized above: cannot happen */
            break;
        }
        pu += (size_t)snprintf(parts + pu, parts_size - pu, "%s%d", sep,
                               (int)part[j]);
        nu += (size_t)snprintf(nexts + nu, nexts_size - nu, "%s%lld", sep,
                               (long long)next[j]);
    }
    if (err == RV_OK) {
        snprintf(topics + tu, topics_size - tu, "}");
        snprintf(parts + pu, parts_size - pu, "}");
        snprintf(nexts + nu, nexts_size - nu, "}");
        const char *params[] = {rec->group, topics, parts, nexts};
        err = piped ? rv_pg_txn_send(rec->pg, "recorder_offsets", 4, params,
                                     false, errstr, errstr_size)
                    : rv_pg_exec_prepared(rec->pg, "recorder_offsets",
                                          offsets_sql, 4, params, NULL, errstr,
                                          errstr_size);
    }
    free(topics);
    free(parts);
    free(nexts);
    return err;
}

/* rv_position_fn: where the recorder starts an assigned partition, from
 * recorder_offsets (-1: nothing stored, Kafka's committed offset). */
static int64_t recorder_position(void *ctx, const char *topic,
                                 int32_t partition)
{
    recorder *rec = ctx;
    char p[24], errstr[256] = "";
    snprintf(p, sizeof(p), "%d", (int)partition);
    const char *params[] = {rec->group, topic, p};
    rv_pg_result *res = NULL;
    int64_t at = -1;
    if (rv_pg_exec(rec->pg,
                   "SELECT next_offset FROM recorder_offsets WHERE group_id = "
                   "$1 AND topic = $2 AND partition = $3::integer",
                   3, params, &res, errstr, sizeof(errstr)) != RV_OK) {
        /* Kafka's offset instead: rows are idempotent, nothing is lost. */
        RV_LOG(RV_LOG_WARN, "position_unknown", RV_KV_STR("topic", topic),
               RV_KV_INT("partition", partition), RV_KV_STR("reason", errstr));
    } else if (rv_pg_result_rows(res) == 1) {
        at = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    }
    rv_pg_result_free(res);
    return at;
}

/* recorder.crash_after_commits: the test of the exactly-once sink. */
static void maybe_crash(recorder *rec)
{
    if (rec_cfg.crash_after_commits > 0 &&
        ++rec->commits >= rec_cfg.crash_after_commits) {
        RV_LOG(RV_LOG_WARN, "crash_injected",
               RV_KV_INT("commits", rec->commits));
        fflush(NULL);
        _exit(137);
    }
}

/* All rows and the partitions' next offsets in one transaction, one
 * INSERT per table and chunk, pipelined (rv_pg_txn_*): one round trip a
 * batch, and PostgreSQL inserts one table while the recorder builds the
 * next table's arrays (issue 8). */
static rv_err write_batch(recorder *rec, const rv_msg *msgs, size_t count,
                          char *errstr, size_t errstr_size)
{
    char name[32];
    rv_err err = rv_pg_prepare(rec->pg, "recorder_offsets", offsets_sql, 4,
                               errstr, errstr_size);
    for (size_t t = 0; err == RV_OK && t < RECORDER_TABLE_COUNT; t++) {
        if (recorder_rows_count(rec->rows, t) > 0) {
            err = rv_pg_prepare(
                rec->pg, insert_name(t, name), rec->insert_sql[t],
                recorder_table_column_count(t), errstr, errstr_size);
        }
    }
    if (err == RV_OK) {
        err = rv_pg_txn_begin(rec->pg, errstr, errstr_size);
    }
    if (err != RV_OK) {
        return err;
    }
    for (size_t t = 0; err == RV_OK && t < RECORDER_TABLE_COUNT; t++) {
        size_t total = recorder_rows_count(rec->rows, t);
        size_t n = 0;
        for (size_t first = 0;
             err == RV_OK && (n = recorder_chunk_rows(t, total, first)) > 0;
             first += n) {
            err =
                insert_rows(rec, t, first, n, true, NULL, errstr, errstr_size);
        }
    }
    if (err == RV_OK) {
        err = store_offsets(rec, msgs, count, true, errstr, errstr_size);
    }
    if (err != RV_OK) {
        /* Building a statement failed before its send (no-op when a send
         * failed: that ended the transaction already). */
        rv_pg_txn_abort(rec->pg);
    }
    int64_t inserted = 0;
    if (err == RV_OK) {
        err = rv_pg_txn_commit(rec->pg, &inserted, errstr, errstr_size);
    }
    if (err == RV_OK) {
        maybe_crash(rec);
        rec->rows_inserted += (uint64_t)inserted;
    }
    return err;
}

/* Class 22 (data exception), 23 (integrity) and 54 (a value too big for
 * an index) blame the row; anything else blames the statement or the
 * schema, and dead-lettering would only move every message aside. */
static bool is_row_error(const char *sqlstate)
{
    return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
           strncmp(sqlstate, "54", 2) == 0;
}

/* The batch was rejected: insert row by row, each its own statement (all
 * idempotent, so no transaction is needed), and dead-letter the messages
 * whose rows PostgreSQL still refuses. */
static rv_err write_rows_singly(recorder *rec, const rv_msg *msgs,
                                rv_producer *kp)
{
    char errstr[512];
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        for (size_t i = 0; i < recorder_rows_count(rec->rows, t); i++) {
            rv_err err = insert_rows(rec, t, i, 1, false, &rec->rows_inserted,
                                     errstr, sizeof(errstr));
            if (err == RV_OK) {
                continue;
            }
            if (err != RV_ERR_INVALID) {
                return err;
            }
            if (!is_row_error(rv_pg_sqlstate(rec->pg))) {
                RV_LOG(RV_LOG_ERROR, "pg_statement_failed",
                       RV_KV_STR("table", recorder_table_name(t)),
                       RV_KV_STR("reason", errstr));
                return RV_ERR_UNAVAILABLE; /* retry until fixed */
            }
            size_t tag = recorder_rows_tag(rec->rows, t, i);
            const rv_msg *m = &msgs[tag];
            if (rec->dead[tag]) {
                continue;
            }
            rec->dead[tag] = 1;
            if (recorder_topic_of(m->topic) == RECORDER_TOPIC_DLQ) {
                RV_LOG(RV_LOG_ERROR, "dead_letter_unrecorded",
                       RV_KV_STR("topic", m->topic),
                       RV_KV_INT("partition", m->partition),
                       RV_KV_INT("offset", m->offset),
                       RV_KV_STR("reason", errstr));
                continue;
            }
            log_rejected(rec, m, "row", errstr);
            err = dead_letter(rec, kp, m, errstr);
            if (err != RV_OK) {
                return err;
            }
        }
    }
    return RV_OK;
}

static rv_err record_batch(void *ctx, const rv_msg *msgs, size_t count,
                           rv_producer *kp)
{
    recorder *rec = ctx;
    char errstr[512];
    if (count > rec->dead_cap) {
        unsigned char *dead = realloc(rec->dead, count);
        if (dead == NULL) {
            return RV_ERR_NOMEM;
        }
        rec->dead = dead;
        rec->dead_cap = count;
    }
    memset(rec->dead, 0, count);
    recorder_rows_clear(rec->rows);
    for (size_t i = 0; i < count; i++) {
        const rv_msg *m = &msgs[i];
        char reason[1024], topic[256], partition[32], offset[32];
        recorder_dlq_source src = {0};
        if (recorder_topic_of(m->topic) == RECORDER_TOPIC_DLQ) {
            src = (recorder_dlq_source){
                rv_msg_header(m, RV_DLQ_HDR_REASON, reason, sizeof(reason)),
                rv_msg_header(m, RV_DLQ_HDR_TOPIC, topic, sizeof(topic)),
                rv_msg_header(m, RV_DLQ_HDR_PARTITION, partition,
                              sizeof(partition)),
                rv_msg_header(m, RV_DLQ_HDR_OFFSET, offset, sizeof(offset)),
            };
        }
        errstr[0] = '\0';
        rv_err err = recorder_rows_add_msg(rec->rows, i, m, &src, errstr,
                                           sizeof(errstr));
        if (err == RV_ERR_INVALID) {
            /* It does not decode, or is keyed by another value. */
            log_rejected(rec, m, "contract", errstr);
            rec->dead[i] = 1;
            err = dead_letter(rec, kp, m, errstr);
        }
        if (err != RV_OK) {
            return err;
        }
    }
    rv_err err = write_batch(rec, msgs, count, errstr, sizeof(errstr));
    if (err == RV_ERR_INVALID) {
        RV_LOG(RV_LOG_ERROR, "pg_batch_rejected",
               RV_KV_INT("messages", (int64_t)count),
               RV_KV_STR("reason", errstr));
        rec->fallbacks++;
        err = write_rows_singly(rec, msgs, kp);
        if (err == RV_OK) {
            /* Rows one by one are not one transaction: the offsets come
             * after them (at least once, and the rows are idempotent). */
            err =
                store_offsets(rec, msgs, count, false, errstr, sizeof(errstr));
        }
    } else if (err != RV_OK) {
        uint64_t suppressed = 0;
        if (rv_log_ratelimit_allow(&rec->pg_rl, &suppressed)) {
            RV_LOG(RV_LOG_WARN, "pg_batch_failed",
                   RV_KV_STR("error", rv_err_str(err)),
                   RV_KV_STR("reason", errstr),
                   RV_KV_INT("suppressed", (int64_t)suppressed));
        }
    }
    return err;
}

/* Every configured topic must be one the recorder can decode or a
 * dead-letter topic: anything else would send each message to a DLQ. */
static bool topics_ok(const char *topics)
{
    char *buf = strdup(topics);
    if (buf == NULL) {
        return false;
    }
    bool ok = true;
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t != NULL;
         t = strtok_r(NULL, ", ", &save)) {
        n++;
        if (recorder_topic_of(t) == RECORDER_TOPIC_UNKNOWN) {
            RV_LOG(RV_LOG_ERROR, "config_invalid", RV_KV_STR("key", "topics"),
                   RV_KV_STR("topic", t),
                   RV_KV_STR("reason", "not a topic the recorder can decode"));
            ok = false;
        }
    }
    free(buf);
    return ok && n > 0;
}

/* The record's key check (deploy/sql/013_pii_key_check.sql): the first
 * recorder writes its key's check value, every recorder compares before
 * it records anything, so a replica or a restart with another key file
 * cannot mix phone_enc values no one key opens. PostgreSQL not answering
 * is retried as start-up retries its connection. Logs its own failure.
 * @returns RV_OK; RV_ERR_INVALID (another key's record, or no table or no
 *          right to it: exit 78); RV_ERR_UNAVAILABLE (no answer within
 *          startup.wait.ms), RV_ERR_CONFLICT, RV_ERR_NOMEM, RV_ERR_FATAL
 *          (exit 1) */
static rv_err check_pii_key(rv_worker *w, const rv_pii_key *key,
                            const char *key_file)
{
    char value[RV_PII_CHECK_SIZE];
    rv_err err = rv_pii_key_check_value(key, value, sizeof(value));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "pii_key_check_failed",
               RV_KV_STR("key_file", key_file),
               RV_KV_STR("reason", "OpenSSL HMAC-SHA256 failed"));
        return RV_ERR_FATAL;
    }
    const char *params[] = {value};
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    int64_t inserted = 0, deadline_ms = 0;
    for (int attempt = 1;; attempt++) {
        rv_pg_result *ins = NULL;
        err = rv_pg_exec(w->pg,
                         "INSERT INTO pii_key_check (check_value) VALUES ($1) "
                         "ON CONFLICT DO NOTHING",
                         1, params, &ins, errstr, sizeof(errstr));
        if (err == RV_OK) {
            inserted = rv_pg_result_affected(ins);
            err = rv_pg_exec(w->pg, "SELECT check_value FROM pii_key_check", 0,
                             NULL, &res, errstr, sizeof(errstr));
        }
        rv_pg_result_free(ins);
        if (!rv_worker_startup_retry(w, err, "postgres", errstr, attempt,
                                     &deadline_ms)) {
            break;
        }
    }
    if (err == RV_OK && rv_pg_result_rows(res) != 1) {
        rv_errf(errstr, sizeof(errstr),
                "pii_key_check: %zu rows, expected 1 (row-level security?)",
                rv_pg_result_rows(res));
        err = RV_ERR_INVALID;
    }
    if (err != RV_OK) {
        /* 42P01: migration 013 not applied; 42501: the recorder's user is
         * not in revisit_writer. Either way an operator must act. */
        RV_LOG(RV_LOG_ERROR, "pii_key_check_failed",
               RV_KV_STR("key_file", key_file),
               RV_KV_STR("error", rv_err_str(err)),
               RV_KV_STR("sqlstate", rv_pg_sqlstate(w->pg)),
               RV_KV_STR("reason", errstr));
        goto out;
    }
    const char *recorded = rv_pg_result_value(res, 0, 0);
    if (strcmp(recorded, value) != 0) {
        /* Check values are MACs of a fixed text: they name a key without
         * revealing it, and let an operator find the right file
         * (README, "Personal data"). */
        RV_LOG(RV_LOG_ERROR, "pii_key_mismatch",
               RV_KV_STR("key_file", key_file), RV_KV_STR("key_check", value),
               RV_KV_STR("record_key_check", recorded),
               RV_KV_STR("reason", "pii.key.file is not the key this "
                                   "record's phone numbers are sealed with"));
        err = RV_ERR_INVALID;
        goto out;
    }
    RV_LOG(RV_LOG_INFO, "pii_key_checked", RV_KV_STR("key_file", key_file),
           RV_KV_STR("key_check", value), RV_KV_BOOL("first", inserted == 1));
out:
    rv_pg_result_free(res);
    return err;
}

static void recorder_fini(void *ctx);

static rv_err recorder_init(rv_worker *w, void **out)
{
    if (!topics_ok(w->cfg.topics)) {
        return RV_ERR_INVALID; /* exit 78 */
    }
    recorder *rec = calloc(1, sizeof(*rec));
    if (rec == NULL) {
        return RV_ERR_NOMEM;
    }
    char errstr[512] = "";
    rv_err err = rv_pii_key_load(rec_cfg.pii_key_file, &rec->key, errstr,
                                 sizeof(errstr));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "config_invalid", RV_KV_STR("key", "pii.key.file"),
               RV_KV_STR("reason", errstr));
        free(rec);
        return err == RV_ERR_NOMEM ? err : RV_ERR_INVALID; /* exit 78 */
    }
    err = check_pii_key(w, rec->key, rec_cfg.pii_key_file);
    if (err != RV_OK) {
        rv_pii_key_free(rec->key);
        free(rec);
        return err; /* RV_ERR_INVALID: exit 78 */
    }
    err = recorder_rows_new(rec->key, &rec->rows);
    for (size_t t = 0; err == RV_OK && t < RECORDER_TABLE_COUNT; t++) {
        err = recorder_insert_sql(t, &rec->insert_sql[t]);
    }
    if (err != RV_OK) {
        recorder_fini(rec);
        return err;
    }
    rec->pg = w->pg;
    rec->group = w->cfg.group_id;
    w->position_fn = recorder_position;
    w->position_ctx = rec;
    *out = rec;
    return RV_OK;
}

/* Runs after the clients are closed, before shutdown_complete. */
static void recorder_fini(void *ctx)
{
    recorder *rec = ctx;
    if (rec == NULL) {
        return;
    }
    RV_LOG(RV_LOG_INFO, "recorder_totals",
           RV_KV_INT("rows_inserted", (int64_t)rec->rows_inserted),
           RV_KV_INT("dead_lettered", (int64_t)rec->dead_lettered),
           RV_KV_INT("fallbacks", (int64_t)rec->fallbacks));
    recorder_rows_free(rec->rows);
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        free(rec->insert_sql[t]);
    }
    rv_pii_key_free(rec->key);
    free(rec->dead);
    free(rec);
}

/* --check-config (tester finding 9): the key file loads as start-up
 * loads it (exists, readable, a regular file of mode 0600 or 0400, 128
 * hex digits); whether it is the record's key needs PostgreSQL and is
 * left to start-up (check_pii_key). */
static rv_err recorder_check_config(const void *extra_base,
                                    rv_cfg_report_fn report, void *report_arg)
{
    const recorder_cfg *cfg = extra_base;
    rv_pii_key *key = NULL;
    char errstr[512] = "";
    rv_err err =
        rv_pii_key_load(cfg->pii_key_file, &key, errstr, sizeof(errstr));
    rv_pii_key_free(key);
    if (err == RV_ERR_NOMEM) {
        return err;
    }
    if (err != RV_OK) {
        report(report_arg, "pii.key.file", errstr);
        return RV_ERR_INVALID;
    }
    return RV_OK;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "recorder",
        .default_group = "revisit-recorder",
        .default_topics = DEFAULT_TOPICS,
        .needs_pg = true,
        .extra_keys = recorder_keys,
        .extra_base = &rec_cfg,
        .check_config = recorder_check_config,
    };
    return rv_worker_main(argc, argv, &spec, recorder_init, record_batch,
                          recorder_fini);
}
