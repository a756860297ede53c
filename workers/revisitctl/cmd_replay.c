/* workers/revisitctl/cmd_replay.c: `revisitctl replay verify` (issue 7).
 *
 * A replay runs the workers' own code again over the history Kafka keeps
 * and compares what they decide with the record in PostgreSQL:
 *   sampler  sales.events, service.events -> decisions, tasks
 *   grader   visits.outcomes              -> grades (and R10 tasks)
 *   alerter  visits.grades                -> alerts
 * Each stage reads the live input topics from the offsets of the time
 * range (less a warm-up, so cooldowns, quota periods and churn clocks see
 * the history they need) in consumer groups of its own, keeps its state in
 * a Redis database of its own (flushed first) and produces to topics
 * named "replay.<id>.<topic>": the live groups, topics and keys are never
 * touched. Rows are compared by ID in the range [from, to) of event time. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_args.h"
#include "ctl_time.h"
#include "replay_diff.h"
#include "replay_offsets.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/kafka_lag.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"

#define US_PER_DAY (86400LL * 1000000LL)
#define PARTITIONS_MAX 256
#define KAFKA_TIMEOUT_MS 10000
#define FP_SIZE 512
/* --redis-db: any index Redis may have ("databases" in redis.conf);
 * --timeout-s: a day at most. */
#define REDIS_DB_MAX INT_MAX
#define TIMEOUT_S_MAX 86400
/* The replay's workers' watermark idle time: how long a partition with
 * nothing in the range holds the watermark back. Partitions heard from
 * hold it however long they are silent (watermark.hold.silent): the range
 * is all in the broker already, so one partition can be read to its end
 * before another, and once it fell silent the watermark ran ahead of
 * where the live workers had it (demo replays closed two and four R7
 * churn clocks the live run had not: decisions "missing"). */
#define REPLAY_WATERMARK_IDLE_S 2

typedef struct stage {
    const char *worker;        /* "sampler" */
    const char *const *inputs; /* NULL-terminated live input topics */
    int64_t warmup_us;         /* read this much before the range */
    pid_t pid;
    char group[96];
    const char *pg_dsn; /* RV_PG_DSN of the worker; NULL = inherited */
} stage;

typedef struct replay {
    rv_props kafka;
    rv_pg *pg;
    const char *policy_path;
    const rv_policy *policy;
    int64_t from_us, to_us;
    int redis_db;
    int timeout_s;
    char id[48];     /* the replay's own name: groups, topics */
    char prefix[64]; /* "replay.<id>." */
    char bin_dir[PATH_MAX];
    char log_dir[PATH_MAX];
} replay;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl replay verify --from T --to T [--policy PATH]\n"
            "           [--redis-db N] [--timeout-s N] [--bin-dir DIR] "
            "[--dsn DSN]\n"
            "       revisitctl replay rebuild --schema NAME --from T --to T "
            "[--replace]\n"
            "           [--sql-dir DIR] [--live-schema S] [--timeout-s N] "
            "[--bin-dir DIR] [--dsn DSN]\n"
            "  T is YYYY-MM-DDTHH:MM:SSZ (UTC); the range is [from, to) of "
            "event time.\n"
            "  verify: recomputes every sampling decision and task "
            "(sampler), grade\n"
            "  (grader) and alert (alerter) of the range with the workers' "
            "own\n"
            "  code and the policy (default $RV_POLICY_PATH), and compares "
            "them\n"
            "  with PostgreSQL. Redis database N (default 15, never 0) is\n"
            "  flushed and used for the replay's state.\n"
            "  rebuild: creates schema NAME (migrations of --sql-dir, default\n"
            "  $RV_SOURCE_DIR/deploy/sql or deploy/sql), records every topic "
            "of the\n"
            "  range into it with the recorder's own code, and diffs it table "
            "by\n"
            "  table with the live record (schema public); the recorder "
            "needs\n"
            "  $RV_PII_KEY_FILE, the live recorder's key (phone_enc).\n"
            "  Exit 0 only if all match.\n"
            "       revisitctl replay export --help | replay report --help\n"
            "  an auditor's export of one topic; a Markdown audit report.\n");
}

/* ---- warm-up: how far back a stage must read --------------------------- */

/* The sampler's state reaches back by the longest cooldown, churn period,
 * quota period and follow-up offset of the policy (issue 3). */
static int64_t sampler_warmup_us(const rv_policy *p)
{
    int64_t days = p->cooldown_days;
    for (unsigned i = 0; i < p->class_count; i++) {
        const rv_class *k = &p->classes[i];
        if (k->cooldown_days != NULL && *k->cooldown_days > days) {
            days = *k->cooldown_days;
        }
    }
    for (unsigned i = 0; i < p->rule_count; i++) {
        const rv_rule *r = &p->rules[i];
        int64_t d = 0;
        if (rv_rule_is_inactivity(r)) {
            d = r->inactivity.after_days + r->inactivity.lateness_hours / 24 +
                1;
        } else if (rv_rule_is_quota(r)) {
            d = 7 + r->quota.lateness_hours / 24 + 1;
        } else if (rv_rule_is_schedule(r) && r->schedule.day_count > 0) {
            d = r->schedule.days[r->schedule.day_count - 1];
        }
        days = d > days ? d : days;
    }
    return (days + 2) * US_PER_DAY;
}

/* ---- start offsets ----------------------------------------------------- */

/* Start offsets of @p topic for event times from @p from_us
 * (replay_offsets.h: shared with replay export). */
static rv_err start_offsets(replay *r, const char *topic, int64_t from_us,
                            int64_t *offsets, int *count)
{
    return replay_start_offsets(&r->kafka, r->pg, topic, from_us,
                                KAFKA_TIMEOUT_MS, offsets, PARTITIONS_MAX,
                                count);
}

/* ---- the replay's workers ---------------------------------------------- */

/* The live Redis URL ($RV_REDIS_URL) with the replay's database. */
static void replay_redis_url(const replay *r, char *out, size_t size)
{
    const char *base = getenv("RV_REDIS_URL");
    if (base == NULL || base[0] == '\0') {
        base = "redis://127.0.0.1:6379";
    }
    const char *host = strstr(base, "://");
    host = host != NULL ? host + 3 : base;
    snprintf(out, size, "%.*s/%d", (int)(host - base) + (int)strcspn(host, "/"),
             base, r->redis_db);
}

static void worker_bin(const replay *r, const char *name, char *out,
                       size_t size)
{
    snprintf(out, size, "%s/../%s/revisit-%s", r->bin_dir, name, name);
    if (access(out, X_OK) != 0) {
        snprintf(out, size, "%s/revisit-%s", r->bin_dir, name);
    }
}

static rv_err start_stage(replay *r, stage *s)
{
    snprintf(s->group, sizeof(s->group), "revisit-replay-%s-%s", r->id,
             s->worker);
    for (const char *const *t = s->inputs; *t != NULL; t++) {
        int64_t offsets[PARTITIONS_MAX];
        int count = 0;
        rv_err err =
            start_offsets(r, *t, r->from_us - s->warmup_us, offsets, &count);
        char errstr[512] = "";
        if (err == RV_OK) {
            err = rv_kafka_group_commit(&r->kafka, s->group, *t, offsets, count,
                                        errstr, sizeof(errstr));
        }
        if (err != RV_OK) {
            fprintf(stderr, "replay: %s: %s\n", *t, errstr);
            return err;
        }
    }
    char bin[PATH_MAX + 64], log[PATH_MAX + 256], redis_url[256];
    worker_bin(r, s->worker, bin, sizeof(bin));
    snprintf(log, sizeof(log), "%s/revisit-replay-%s-%s.log", r->log_dir, r->id,
             s->worker);
    replay_redis_url(r, redis_url, sizeof(redis_url));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "replay: fork: %s\n", strerror(errno));
        return RV_ERR_UNAVAILABLE;
    }
    if (pid == 0) {
        setenv("RV_GROUP_ID", s->group, 1);
        setenv("RV_REDIS_URL", redis_url, 1);
        setenv("RV_PRODUCE_TOPIC_PREFIX", r->prefix, 1);
        setenv("RV_POLICY_PATH", r->policy_path, 1);
        char idle_ms[24];
        snprintf(idle_ms, sizeof(idle_ms), "%d",
                 REPLAY_WATERMARK_IDLE_S * 1000);
        setenv("RV_WATERMARK_IDLE_MS", idle_ms, 1);
        setenv("RV_WATERMARK_HOLD_SILENT", "true", 1);
        setenv("RV_TICK_MS", "200", 1);
        setenv("RV_ALERTER_CLOCK", "event", 1);
        setenv("RV_LOG_LEVEL", "warn", 1);
        if (s->pg_dsn != NULL) {
            setenv("RV_PG_DSN", s->pg_dsn, 1);
        }
        unsetenv("RV_TOPICS");
        if (freopen(log, "w", stderr) == NULL || dup2(2, 1) < 0) {
            _exit(126);
        }
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    return RV_OK;
}

typedef struct sets {
    replay_rows decisions, tasks, grades, alerts;
    replay_rows spot; /* R10 tasks: compared apart */
} sets;

/* The replay's output, read while its workers run (follow_step) and to
 * its end once they stopped (follow_finish), never only at the end: a
 * broker may delete a partition's oldest messages while the workers still
 * write (retention; the development broker, librdkafka's mock cluster,
 * keeps 5 MiB a partition, and a replay's output topics get its default 4
 * partitions). A replay that re-reads a re-imported range produces each
 * of its decisions again ("not selected: a later purchase of the customer
 * is known"), and the comparison takes an ID's first row, as the record
 * does: with the first rows deleted, the later ones stood for them and
 * verify printed a few "differing" R7 decisions, more or fewer from run
 * to run. A message lost all the same is an error (follow_finish). */
typedef struct follow {
    const char *kind;      /* "visits.decisions", ... */
    rv_kafka_range *range; /* NULL until the topic exists */
} follow;

#define FOLLOW_KINDS 4
/* Messages one follow_step reads of a topic at most: the wait loops
 * still look at the workers often. */
#define FOLLOW_STEP_MAX 20000

typedef struct follows {
    follow f[FOLLOW_KINDS];
    sets *out;
    rv_err err; /* the first error of a step; follow_finish reports it */
} follows;

static void follow_step(const replay *r, follows *fs);

/* Topics the replay's workers produce and verify reads. */
static const char *const replay_outputs[] = {
    "visits.decisions",  "visits.tasks",    "visits.grades",
    "compliance.alerts", "visits.retries",  "visits.assignments",
    "visits.outcomes",   "compliance.cases"};

/* Until the replay's output topics have not grown for QUIET_S seconds
 * (or @p deadline passes): longer than the watermark's idle time, so a
 * partition with nothing in the range has stopped holding the watermark
 * back (and the closes behind it are out) before the replay is called
 * done. */
#define QUIET_S (REPLAY_WATERMARK_IDLE_S + 1)
static rv_err wait_quiet(const replay *r, follows *fs, time_t deadline)
{
    size_t n = sizeof(replay_outputs) / sizeof(replay_outputs[0]);
    char topics[8][160];
    const char *names[8];
    for (size_t i = 0; i < n; i++) {
        snprintf(topics[i], sizeof(topics[i]), "%s%s", r->prefix,
                 replay_outputs[i]);
        names[i] = topics[i];
    }
    int64_t last = -1;
    int quiet = 0;
    while (quiet < QUIET_S * 2) {
        int64_t lag = 0, total = 0;
        char errstr[512] = "";
        /* A group that never committed: its "lag" counts every message. */
        if (rv_kafka_group_lag(&r->kafka, "revisit-replay-quiet", names, n,
                               KAFKA_TIMEOUT_MS, &lag, &total, errstr,
                               sizeof(errstr)) != RV_OK) {
            total = -2; /* a topic not created yet: not quiet */
        }
        quiet = total == last ? quiet + 1 : 0;
        last = total;
        if (time(NULL) > deadline) {
            fprintf(stderr, "replay: the outputs still grow after %d s\n",
                    r->timeout_s);
            return RV_ERR_TIMEOUT;
        }
        follow_step(r, fs);
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return RV_OK;
}

/* Wait until every stage's group has read all of its inputs, then give
 * the ticks (watermark closes) time to run and stop the workers; @p fs
 * (NULL: none) reads the outputs meanwhile. */
static rv_err finish_stages(replay *r, stage *stages, size_t n, follows *fs)
{
    time_t deadline = time(NULL) + r->timeout_s;
    rv_err err = RV_OK;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        size_t topics = 0;
        while (stages[i].inputs[topics] != NULL) {
            topics++;
        }
        for (;;) {
            int64_t lag = -1;
            char errstr[512] = "";
            int status = 0;
            if (waitpid(stages[i].pid, &status, WNOHANG) == stages[i].pid) {
                fprintf(stderr,
                        "replay: the %s exited early (status %d); see "
                        "%s/revisit-replay-%s-%s.log\n",
                        stages[i].worker, status, r->log_dir, r->id,
                        stages[i].worker);
                stages[i].pid = 0;
                err = RV_ERR_FATAL;
                break;
            }
            if (rv_kafka_group_lag(&r->kafka, stages[i].group, stages[i].inputs,
                                   topics, KAFKA_TIMEOUT_MS, &lag, NULL, errstr,
                                   sizeof(errstr)) == RV_OK &&
                lag == 0) {
                break;
            }
            if (time(NULL) > deadline) {
                fprintf(stderr, "replay: the %s did not catch up in %d s\n",
                        stages[i].worker, r->timeout_s);
                err = RV_ERR_TIMEOUT;
                break;
            }
            follow_step(r, fs);
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    /* The inputs are read; ticks (every 200 ms) still close the quota
     * periods, churn clocks and spot-check months the watermark passed, a
     * few per tick. Done when the replay's outputs stop growing. */
    if (err == RV_OK) {
        err = wait_quiet(r, fs, deadline);
    }
    for (size_t i = 0; i < n; i++) {
        if (stages[i].pid > 0) {
            kill(stages[i].pid, SIGTERM);
        }
    }
    for (size_t i = 0; i < n; i++) {
        int status = 0;
        if (stages[i].pid > 0 && waitpid(stages[i].pid, &status, 0) > 0 &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0) && err == RV_OK) {
            fprintf(stderr, "replay: the %s stopped with status %d\n",
                    stages[i].worker, status);
            err = RV_ERR_FATAL;
        }
    }
    return err;
}

/* ---- fingerprints: the compared fields, one text for both sides -------- */

static void fp_decision(char *out, const char *rule, const char *outcome,
                        double u, double rate, const char *task,
                        const char *version)
{
    snprintf(out, FP_SIZE, "%s|%s|%.17g|%.17g|%s|%s", rule, outcome, u, rate,
             task, version);
}

static void fp_task(char *out, const char *rule, const char *customer,
                    int64_t due_start, int64_t due_end, int64_t priority,
                    const char *channel, const char *version)
{
    snprintf(out, FP_SIZE, "%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%s",
             rule, customer, due_start, due_end, priority, channel, version);
}

static void fp_grade(char *out, const char *task, int64_t attempt,
                     const char *verdict, const char *band, const char *version)
{
    snprintf(out, FP_SIZE, "%s|%" PRId64 "|%s|%s|%s", task, attempt, verdict,
             band, version);
}

static void fp_alert(char *out, const char *kind, const char *severity,
                     const char *customer, const char *grade, int64_t deadline,
                     const char *version)
{
    snprintf(out, FP_SIZE, "%s|%s|%s|%s|%" PRId64 "|%s", kind, severity,
             customer, grade, deadline, version);
}

/* Move the tasks of rule @p rule from s->tasks to s->spot. */
static rv_err split_spot_checks(sets *s, const char *rule)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s|", rule != NULL ? rule : "");
    size_t keep = 0;
    rv_err err = RV_OK;
    for (size_t i = 0; i < s->tasks.count; i++) {
        replay_row *row = &s->tasks.items[i];
        if (rule != NULL && strncmp(row->fp, prefix, strlen(prefix)) == 0) {
            if (err == RV_OK) {
                err = replay_rows_add(&s->spot, row->id, row->fp);
            }
            free(row->id);
            free(row->fp);
        } else {
            s->tasks.items[keep++] = *row;
        }
    }
    s->tasks.count = keep;
    return err;
}

static void sets_fini(sets *s)
{
    replay_rows_fini(&s->spot);
    replay_rows_fini(&s->decisions);
    replay_rows_fini(&s->tasks);
    replay_rows_fini(&s->grades);
    replay_rows_fini(&s->alerts);
}

static bool in_range(const replay *r, int64_t us)
{
    return us >= r->from_us && us < r->to_us;
}

/* Adds the replay's row of message @p m of output topic @p kind. */
static rv_err add_replayed(const replay *r, const char *kind, const rv_msg *m,
                           sets *out)
{
    char fp[FP_SIZE], errstr[256] = "";
    if (strcmp(kind, "visits.decisions") == 0) {
        /* One customer's decisions of a sampler batch (issue 8). */
        rv_decision *ds = malloc(RV_CODEC_DECISIONS_MAX * sizeof(*ds));
        if (ds == NULL) {
            return RV_ERR_NOMEM;
        }
        size_t n = 0;
        rv_err err = RV_OK;
        if (rv_codec_decode_decisions(m->payload, m->len, ds,
                                      RV_CODEC_DECISIONS_MAX, &n, errstr,
                                      sizeof(errstr)) != RV_OK) {
            n = 0;
        }
        for (size_t i = 0; i < n && err == RV_OK; i++) {
            const rv_decision *d = &ds[i];
            if (!in_range(r, d->env.occurred_at_us)) {
                continue;
            }
            fp_decision(fp, d->rule_id, rv_decision_outcome_name(d->outcome),
                        d->u, d->rate, d->task_id, d->policy_version);
            err = replay_rows_add(&out->decisions, d->decision_id, fp);
        }
        free(ds);
        return err;
    }
    if (strcmp(kind, "visits.tasks") == 0) {
        rv_task *t = calloc(1, sizeof(*t));
        if (t == NULL) {
            return RV_ERR_NOMEM;
        }
        rv_err err = RV_OK;
        if (rv_codec_decode_task(m->payload, m->len, t, errstr,
                                 sizeof(errstr)) == RV_OK &&
            in_range(r, t->env.occurred_at_us) && t->attempt <= 1) {
            fp_task(fp, t->rule_id, t->customer_id, t->due_start_us,
                    t->due_end_us, t->priority, rv_channel_name(t->channel),
                    t->policy_version);
            err = replay_rows_add(&out->tasks, t->task_id, fp);
        }
        free(t);
        return err;
    }
    if (strcmp(kind, "visits.grades") == 0) {
        rv_grade *g = calloc(1, sizeof(*g));
        if (g == NULL) {
            return RV_ERR_NOMEM;
        }
        rv_err err = RV_OK;
        if (rv_codec_decode_grade(m->payload, m->len, g, errstr,
                                  sizeof(errstr)) == RV_OK &&
            in_range(r, g->env.occurred_at_us)) {
            fp_grade(fp, g->task_id, g->attempt, rv_verdict_name(g->verdict),
                     rv_band_name(g->band), g->policy_version);
            err = replay_rows_add(&out->grades, g->grade_id, fp);
        }
        free(g);
        return err;
    }
    rv_alert *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return RV_ERR_NOMEM;
    }
    rv_err err = RV_OK;
    if (rv_codec_decode_alert(m->payload, m->len, a, errstr, sizeof(errstr)) ==
            RV_OK &&
        in_range(r, a->env.occurred_at_us) &&
        strcmp(a->kind, RV_ALERT_KIND_ESCALATION) != 0) {
        fp_alert(fp, a->kind, rv_severity_name(a->severity), a->customer_id,
                 a->grade_id, a->deadline_us, a->policy_version);
        err = replay_rows_add(&out->alerts, a->alert_id, fp);
    }
    free(a);
    return err;
}

/* Reads what the replay produced on "<prefix><kind>" since the last
 * call: what has come so far when @p final is false (the topic may not
 * exist yet: tried again on the next step), else everything up to the
 * topic's end, every worker stopped. */
static rv_err follow_read(const replay *r, follow *f, sets *out, bool final)
{
    char topic[160], errstr[512] = "";
    snprintf(topic, sizeof(topic), "%s%s", r->prefix, f->kind);
    rv_err err = RV_OK;
    if (f->range == NULL) {
        err = rv_kafka_range_open(&r->kafka, topic, NULL, 0, KAFKA_TIMEOUT_MS,
                                  &f->range, errstr, sizeof(errstr));
        if (err != RV_OK) {
            if (!final) {
                return RV_OK; /* not written yet */
            }
            fprintf(stderr, "replay: %s: %s\n", topic, errstr);
            return err;
        }
        rv_kafka_range_follow(f->range);
    }
    if (final) {
        err = rv_kafka_range_end_now(f->range, KAFKA_TIMEOUT_MS, errstr,
                                     sizeof(errstr));
        if (err != RV_OK) {
            fprintf(stderr, "replay: %s: %s\n", topic, errstr);
            return err;
        }
    }
    for (size_t n = 0; final || n < FOLLOW_STEP_MAX; n++) {
        rv_msg m;
        bool done = false;
        err = rv_kafka_range_next(f->range, final ? KAFKA_TIMEOUT_MS : 0, &m,
                                  &done);
        if (!final && err == RV_ERR_TIMEOUT) {
            return RV_OK; /* nothing more for now */
        }
        if (err != RV_OK) {
            break;
        }
        if (done) {
            break; /* final: at the end */
        }
        err = add_replayed(r, f->kind, &m, out);
        if (err != RV_OK) {
            break;
        }
    }
    if (err != RV_OK) {
        fprintf(stderr, "replay: reading %s: %s %s\n", topic, rv_err_str(err),
                errstr);
    }
    return err;
}

static void follow_step(const replay *r, follows *fs)
{
    for (int k = 0; fs != NULL && k < FOLLOW_KINDS && fs->err == RV_OK; k++) {
        fs->err = follow_read(r, &fs->f[k], fs->out, false);
    }
}

/* Everything the workers wrote, read; RV_ERR_UNAVAILABLE if the broker
 * had deleted any of it before it was read. */
static rv_err follow_finish(const replay *r, follows *fs)
{
    rv_err err = fs->err;
    for (int k = 0; k < FOLLOW_KINDS && err == RV_OK; k++) {
        err = follow_read(r, &fs->f[k], fs->out, true);
        int64_t lost = rv_kafka_range_lost(fs->f[k].range);
        if (err == RV_OK && lost > 0) {
            fprintf(stderr,
                    "replay: %s%s: the broker deleted %" PRId64
                    " of its messages before they were read (retention; "
                    "the development broker keeps 5 MiB a partition): the "
                    "comparison would be incomplete\n",
                    r->prefix, fs->f[k].kind, lost);
            err = RV_ERR_UNAVAILABLE;
        }
    }
    return err;
}

static void follows_fini(follows *fs)
{
    for (int k = 0; k < FOLLOW_KINDS; k++) {
        rv_kafka_range_close(fs->f[k].range);
        fs->f[k].range = NULL;
    }
}

/* ---- the record -------------------------------------------------------- */

/* Rows of @p sql ($1 from, $2 to, $3 policy version); @p build makes the
 * fingerprint of row i. */
typedef void (*fp_builder)(const rv_pg_result *res, size_t i, char *out);

static void row_decision(const rv_pg_result *res, size_t i, char *out)
{
    fp_decision(out, rv_pg_result_value(res, i, 1),
                rv_pg_result_value(res, i, 2),
                strtod(rv_pg_result_value(res, i, 3), NULL),
                strtod(rv_pg_result_value(res, i, 4), NULL),
                rv_pg_result_value(res, i, 5), rv_pg_result_value(res, i, 6));
}

static void row_task(const rv_pg_result *res, size_t i, char *out)
{
    fp_task(out, rv_pg_result_value(res, i, 1), rv_pg_result_value(res, i, 2),
            strtoll(rv_pg_result_value(res, i, 3), NULL, 10),
            strtoll(rv_pg_result_value(res, i, 4), NULL, 10),
            strtoll(rv_pg_result_value(res, i, 5), NULL, 10),
            rv_pg_result_value(res, i, 6), rv_pg_result_value(res, i, 7));
}

static void row_grade(const rv_pg_result *res, size_t i, char *out)
{
    fp_grade(out, rv_pg_result_value(res, i, 1),
             strtoll(rv_pg_result_value(res, i, 2), NULL, 10),
             rv_pg_result_value(res, i, 3), rv_pg_result_value(res, i, 4),
             rv_pg_result_value(res, i, 5));
}

static void row_alert(const rv_pg_result *res, size_t i, char *out)
{
    fp_alert(out, rv_pg_result_value(res, i, 1), rv_pg_result_value(res, i, 2),
             rv_pg_result_value(res, i, 3), rv_pg_result_value(res, i, 4),
             strtoll(rv_pg_result_value(res, i, 5), NULL, 10),
             rv_pg_result_value(res, i, 6));
}

#define US_OF(col)                                                             \
    "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"

static const char decisions_sql[] =
    "SELECT decision_id, rule_id, outcome, u::text, rate::text, "
    "coalesce(task_id, ''), policy_version FROM decisions "
    "WHERE occurred_at >= $1 AND occurred_at < $2 AND policy_version = $3";
static const char tasks_sql[] =
    "SELECT task_id, rule_id, customer_id, " US_OF("due_start") ", " US_OF(
        "due_end") ", priority, channel, policy_version FROM visit_tasks "
                   "WHERE occurred_at >= $1 AND occurred_at < $2 AND "
                   "policy_version = $3 AND attempt <= 1";
static const char grades_sql[] =
    "SELECT grade_id, task_id, attempt, verdict, band, policy_version "
    "FROM grades WHERE occurred_at >= $1 AND occurred_at < $2 AND "
    "policy_version = $3";
static const char alerts_sql[] =
    "SELECT alert_id, kind, severity, customer_id, grade_id, " US_OF(
        "deadline") ", policy_version FROM alerts WHERE occurred_at >= $1 "
                    "AND occurred_at < $2 AND policy_version = $3 AND "
                    "producer LIKE 'alerter%' AND kind <> 'escalation'";

static rv_err read_recorded(const replay *r, const char *sql, fp_builder build,
                            replay_rows *out)
{
    char from[CTL_TIME_SIZE], to[CTL_TIME_SIZE], errstr[512] = "";
    ctl_time_format(r->from_us, from);
    ctl_time_format(r->to_us, to);
    const char *params[] = {from, to, r->policy->version};
    rv_pg_result *res = NULL;
    rv_err err =
        rv_pg_exec(r->pg, sql, 3, params, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay: %s\n", errstr);
        return err;
    }
    char fp[FP_SIZE];
    for (size_t i = 0; i < rv_pg_result_rows(res) && err == RV_OK; i++) {
        build(res, i, fp);
        err = replay_rows_add(out, rv_pg_result_value(res, i, 0), fp);
    }
    rv_pg_result_free(res);
    return err;
}

/* ---- the command ------------------------------------------------------- */

static rv_err flush_replay_db(const replay *r)
{
    char url[256], errstr[256] = "";
    replay_redis_url(r, url, sizeof(url));
    rv_redis *rc = NULL;
    rv_err err = rv_redis_open(url, 5000, &rc, errstr, sizeof(errstr));
    if (err == RV_OK) {
        const char *argv[] = {"FLUSHDB"};
        rv_redis_reply reply = {0};
        err = rv_redis_command(rc, 1, argv, &reply);
        rv_redis_replies_fini(&reply, 1);
    }
    rv_redis_close(rc);
    if (err != RV_OK) {
        fprintf(stderr, "replay: Redis database %d: %s %s\n", r->redis_db,
                rv_err_str(err), errstr);
    }
    return err;
}

static int verify(replay *r)
{
    static const char *const sampler_in[] = {"sales.events", "service.events",
                                             NULL};
    static const char *const grader_in[] = {"visits.outcomes", NULL};
    static const char *const alerter_in[] = {"visits.grades", NULL};
    stage stages[] = {
        {"sampler", sampler_in, sampler_warmup_us(r->policy), 0, "", NULL},
        /* R10 months close two weeks after their end (spot_checks). */
        {"grader", grader_in, 62 * US_PER_DAY, 0, "", NULL},
        /* A5 call rate per agent-hour. */
        {"alerter", alerter_in, 2 * US_PER_DAY, 0, "", NULL},
    };
    size_t n = sizeof(stages) / sizeof(stages[0]);
    if (flush_replay_db(r) != RV_OK) {
        return 69;
    }
    rv_err err = RV_OK;
    sets replayed = {0}, recorded = {0};
    follows fs = {.f = {{"visits.decisions", NULL},
                        {"visits.tasks", NULL},
                        {"visits.grades", NULL},
                        {"compliance.alerts", NULL}},
                  .out = &replayed,
                  .err = RV_OK};
    size_t started = 0;
    for (; started < n && err == RV_OK; started++) {
        err = start_stage(r, &stages[started]);
    }
    if (err != RV_OK) {
        started--;
    }
    rv_err ferr = finish_stages(r, stages, started, &fs);
    if (err == RV_OK && ferr == RV_OK) {
        err = follow_finish(r, &fs);
    }
    follows_fini(&fs);
    if (err != RV_OK || ferr != RV_OK) {
        sets_fini(&replayed);
        return 69;
    }
    if (err == RV_OK) {
        err =
            read_recorded(r, decisions_sql, row_decision, &recorded.decisions);
    }
    if (err == RV_OK) {
        err = read_recorded(r, tasks_sql, row_task, &recorded.tasks);
    }
    if (err == RV_OK) {
        err = read_recorded(r, grades_sql, row_grade, &recorded.grades);
    }
    if (err == RV_OK) {
        err = read_recorded(r, alerts_sql, row_alert, &recorded.alerts);
    }
    const char *spot = r->policy->spot_checks.per_agent_month > 0
                           ? r->policy->spot_checks.rule
                           : NULL;
    if (err == RV_OK) {
        err = split_spot_checks(&replayed, spot);
    }
    if (err == RV_OK) {
        err = split_spot_checks(&recorded, spot);
    }
    int code = 69;
    if (err == RV_OK) {
        char from[CTL_TIME_SIZE], to[CTL_TIME_SIZE];
        ctl_time_format(r->from_us, from);
        ctl_time_format(r->to_us, to);
        printf("replay verify: from=%s to=%s policy=%s\n", from, to,
               r->policy->version);
        replay_counts c[4] = {
            replay_diff(&replayed.decisions, &recorded.decisions, "decisions",
                        stdout),
            replay_diff(&replayed.tasks, &recorded.tasks, "tasks", stdout),
            replay_diff(&replayed.grades, &recorded.grades, "grades", stdout),
            replay_diff(&replayed.alerts, &recorded.alerts, "alerts", stdout),
        };
        bool ok = true;
        for (int i = 0; i < 4; i++) {
            ok = ok && c[i].missing == 0 && c[i].extra == 0 &&
                 c[i].differing == 0;
        }
        /* R10 closes a month on the outcomes' watermark, which moves with
         * the order outcomes arrive in: a visit that came after its month
         * closed is left out, so the live and the replayed sample can
         * differ. Shown, not counted (README, issue 7). */
        printf("not counted: R10 spot checks depend on arrival order\n");
        replay_diff(&replayed.spot, &recorded.spot, "spot_checks", stdout);
        printf("verify: %s\n", ok ? "all matched" : "DIFFERENCES");
        code = ok ? 0 : 1;
    }
    sets_fini(&replayed);
    sets_fini(&recorded);
    return code;
}

/* ---- rebuild: the recorder's own code into a schema of its own -------- */

/* Topics the recorder records (workers/recorder): the replay's group
 * starts each at the range. */
static const char *const recorded_topics[] = {"sales.events",
                                              "service.events",
                                              "visits.tasks",
                                              "visits.retries",
                                              "visits.assignments",
                                              "visits.outcomes",
                                              "visits.grades",
                                              "compliance.alerts",
                                              "compliance.cases",
                                              "visits.decisions",
                                              NULL};

/* Tables with an event time, compared row by row (recorded_at aside),
 * the Kafka coordinates of each row's message with them (migration 012;
 * message_index is no longer written). */
static const char *const rebuilt_tables[] = {
    "sales",    "work_orders", "visit_tasks", "task_retries", "assignments",
    "outcomes", "grades",      "alerts",      "decisions",    "case_events"};

static bool schema_name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 40 ||
        strcmp(s, "public") == 0 || strncmp(s, "pg_", 3) == 0 ||
        (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (const char *c = s; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_')) {
            return false;
        }
    }
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every "*.sql" file of @p dir in name order, run in schema @p schema. */
static rv_err apply_migrations(rv_pg *pg, const char *dir, const char *schema)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot read %s: %s\n", dir, strerror(errno));
        return RV_ERR_INVALID;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0) {
            names[n] = strdup(e->d_name);
            n += names[n] != NULL;
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    char errstr[512] = "", set[128];
    snprintf(set, sizeof(set), "SET search_path TO %s", schema);
    rv_err err = n > 0 ? rv_pg_exec_script(pg, set, errstr, sizeof(errstr))
                       : RV_ERR_INVALID;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        char *sql = NULL;
        long size = -1;
        if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
            fseek(f, 0, SEEK_SET) == 0 &&
            (sql = calloc(1, (size_t)size + 1)) != NULL &&
            fread(sql, 1, (size_t)size, f) == (size_t)size) {
            err = rv_pg_exec_script(pg, sql, errstr, sizeof(errstr));
            if (err != RV_OK) {
                fprintf(stderr, "replay: %s: %s\n", names[i], errstr);
            }
        } else {
            fprintf(stderr, "replay: cannot read %s\n", path);
            err = RV_ERR_INVALID;
        }
        free(sql);
        if (f != NULL) {
            fclose(f);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    if (n == 0) {
        fprintf(stderr, "replay: no migrations (*.sql) in %s\n", dir);
    }
    rv_err reset =
        rv_pg_exec_script(pg, "RESET search_path", errstr, sizeof(errstr));
    return err != RV_OK ? err : reset;
}

/* @p dsn with the schema first on the search path. */
static void dsn_with_schema(const char *dsn, const char *schema, char *out,
                            size_t size)
{
    if (strncmp(dsn, "postgres://", 11) == 0 ||
        strncmp(dsn, "postgresql://", 13) == 0) {
        snprintf(out, size, "%s%coptions=-csearch_path%%3D%s", dsn,
                 strchr(dsn, '?') != NULL ? '&' : '?', schema);
    } else {
        snprintf(out, size, "%s options='-csearch_path=%s'", dsn, schema);
    }
}

/* Table by table: the live rows of the range against the rebuilt ones. */
static int diff_tables(replay *r, const char *schema, const char *live)
{
    char from[CTL_TIME_SIZE], to[CTL_TIME_SIZE];
    ctl_time_format(r->from_us, from);
    ctl_time_format(r->to_us, to);
    printf("replay rebuild: from=%s to=%s schema=%s live=%s\n", from, to,
           schema, live);
    bool all = true;
    for (size_t t = 0; t < sizeof(rebuilt_tables) / sizeof(rebuilt_tables[0]);
         t++) {
        const char *tab = rebuilt_tables[t];
        char sql[2048], errstr[512] = "";
        snprintf(sql, sizeof(sql),
                 "WITH l AS (SELECT to_jsonb(x) - 'recorded_at' AS j FROM "
                 "%s.%s x WHERE occurred_at >= $1 AND occurred_at < $2), "
                 "r AS (SELECT to_jsonb(x) - 'recorded_at' AS j FROM %s.%s x "
                 "WHERE occurred_at >= $1 AND occurred_at < $2), "
                 "a AS (SELECT j FROM l EXCEPT ALL SELECT j FROM r), "
                 "b AS (SELECT j FROM r EXCEPT ALL SELECT j FROM l) "
                 "SELECT 'n', (SELECT count(*) FROM l)::text, "
                 "(SELECT count(*) FROM r)::text, (SELECT count(*) FROM a)"
                 "::text, (SELECT count(*) FROM b)::text "
                 "UNION ALL (SELECT 'l', left(j::text, 240), '', '', '' FROM a "
                 "ORDER BY 2 LIMIT 5) "
                 "UNION ALL (SELECT 'r', left(j::text, 240), '', '', '' FROM b "
                 "ORDER BY 2 LIMIT 5)",
                 live, tab, schema, tab);
        const char *params[] = {from, to};
        rv_pg_result *res = NULL;
        if (rv_pg_exec(r->pg, sql, 2, params, &res, errstr, sizeof(errstr)) !=
            RV_OK) {
            fprintf(stderr, "replay: %s: %s\n", tab, errstr);
            return 69;
        }
        for (size_t i = 0; i < rv_pg_result_rows(res); i++) {
            const char *kind = rv_pg_result_value(res, i, 0);
            if (strcmp(kind, "n") == 0) {
                printf("%s: live=%s rebuilt=%s only_live=%s only_rebuilt=%s\n",
                       tab, rv_pg_result_value(res, i, 1),
                       rv_pg_result_value(res, i, 2),
                       rv_pg_result_value(res, i, 3),
                       rv_pg_result_value(res, i, 4));
                all = all && strcmp(rv_pg_result_value(res, i, 3), "0") == 0 &&
                      strcmp(rv_pg_result_value(res, i, 4), "0") == 0;
            } else {
                printf("  only_%s %s\n", kind[0] == 'l' ? "live" : "rebuilt",
                       rv_pg_result_value(res, i, 1));
            }
        }
        rv_pg_result_free(res);
    }
    printf("rebuild: %s\n", all ? "no difference" : "DIFFERENCES");
    return all ? 0 : 1;
}

static int rebuild(replay *r, const char *schema, bool replace,
                   const char *sql_dir, const char *live, const char *dsn)
{
    char sql[256], errstr[512] = "";
    if (replace) {
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        if (rv_pg_exec(r->pg, sql, 0, NULL, NULL, errstr, sizeof(errstr)) !=
            RV_OK) {
            fprintf(stderr, "replay: %s\n", errstr);
            return 69;
        }
    }
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    if (rv_pg_exec(r->pg, sql, 0, NULL, NULL, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr,
                "replay: %s (an existing schema is never reused: "
                "--replace drops it)\n",
                errstr);
        return 69;
    }
    if (apply_migrations(r->pg, sql_dir, schema) != RV_OK) {
        return 69;
    }
    char rdsn[1024];
    dsn_with_schema(dsn, schema, rdsn, sizeof(rdsn));
    stage recorder = {"recorder", recorded_topics, 0, 0, "", rdsn};
    rv_err err = start_stage(r, &recorder);
    rv_err ferr = finish_stages(r, &recorder, err == RV_OK ? 1 : 0, NULL);
    if (err != RV_OK || ferr != RV_OK) {
        return 69;
    }
    return diff_tables(r, schema, live);
}

static void default_bin_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(out, size, ".");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    snprintf(out, size, "%s", exe);
}

int rv_ctl_replay(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "export") == 0) {
        return rv_ctl_replay_export(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "report") == 0) {
        return rv_ctl_replay_report(argc - 1, argv + 1);
    }
    bool is_rebuild = argc >= 2 && strcmp(argv[1], "rebuild") == 0;
    if (argc < 2 || (strcmp(argv[1], "verify") != 0 && !is_rebuild)) {
        usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 64;
    }
    replay r = {.redis_db = 15, .timeout_s = 600};
    const char *from = NULL, *to = NULL, *dsn = NULL, *bin_dir = NULL;
    const char *schema = NULL, *live = "public", *sql_dir = NULL;
    bool replace = false;
    r.policy_path = getenv("RV_POLICY_PATH");
    for (int i = 2; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        uint64_t n = 0;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--from") == 0) {
            err = ctl_arg_value(argc, argv, &i, &from, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--to") == 0) {
            err = ctl_arg_value(argc, argv, &i, &to, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--policy") == 0) {
            err = ctl_arg_value(argc, argv, &i, &r.policy_path, errstr,
                                sizeof(errstr));
        } else if (strcmp(argv[i], "--redis-db") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 0, REDIS_DB_MAX, &n, errstr,
                              sizeof(errstr));
            r.redis_db = (int)n;
        } else if (strcmp(argv[i], "--timeout-s") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, TIMEOUT_S_MAX, &n, errstr,
                              sizeof(errstr));
            r.timeout_s = (int)n;
        } else if (strcmp(argv[i], "--bin-dir") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &bin_dir, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else if (is_rebuild && strcmp(argv[i], "--schema") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &schema, errstr, sizeof(errstr));
        } else if (is_rebuild && strcmp(argv[i], "--live-schema") == 0) {
            err = ctl_arg_value(argc, argv, &i, &live, errstr, sizeof(errstr));
        } else if (is_rebuild && strcmp(argv[i], "--sql-dir") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &sql_dir, errstr, sizeof(errstr));
        } else if (is_rebuild && strcmp(argv[i], "--replace") == 0) {
            replace = true;
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "replay: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (from == NULL || to == NULL || ctl_time_parse(from, &r.from_us) ||
        ctl_time_parse(to, &r.to_us) || r.from_us >= r.to_us) {
        fprintf(stderr, "replay: --from and --to are required, "
                        "YYYY-MM-DDTHH:MM:SSZ, from before to\n");
        return 64;
    }
    if (r.redis_db < 1 || r.redis_db > 15 || r.timeout_s < 1) {
        fprintf(stderr, "replay: --redis-db must be 1..15 (0 is the live "
                        "workers'), --timeout-s at least 1\n");
        return 64;
    }
    if (is_rebuild &&
        (!schema_name_ok(schema) ||
         (strcmp(live, "public") != 0 && !schema_name_ok(live)))) {
        fprintf(stderr, "replay rebuild: --schema NAME is required: "
                        "[a-z0-9_], not public, pg_* or a digit first\n");
        return 64;
    }
    char sql_default[PATH_MAX];
    if (sql_dir == NULL) {
        const char *src = getenv("RV_SOURCE_DIR");
        snprintf(sql_default, sizeof(sql_default), "%s%sdeploy/sql",
                 src != NULL ? src : "", src != NULL ? "/" : "");
        sql_dir = sql_default;
    }
    if (r.policy_path == NULL) {
        r.policy_path = "deploy/policy/default.yaml";
    }
    dsn = rv_ctl_dsn("replay", dsn);
    if (dsn == NULL) {
        return 78;
    }
    /* The recorder it spawns refuses to start without its key (exit 78
     * in its log): say so here, before any schema is made. */
    const char *key_file = getenv("RV_PII_KEY_FILE");
    if (is_rebuild && (key_file == NULL || key_file[0] == '\0')) {
        fprintf(stderr, "replay rebuild: no key: set RV_PII_KEY_FILE to the "
                        "recorder's pii.key.file (it seals phone numbers)\n");
        return 78;
    }
    if (bin_dir != NULL) {
        snprintf(r.bin_dir, sizeof(r.bin_dir), "%s", bin_dir);
    } else {
        default_bin_dir(r.bin_dir, sizeof(r.bin_dir));
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(r.log_dir, sizeof(r.log_dir), "%s",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    snprintf(r.id, sizeof(r.id), "%lld-%d", (long long)time(NULL),
             (int)getpid());
    snprintf(r.prefix, sizeof(r.prefix), "replay.%s.", r.id);
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    if (rv_cfg_load(sec, 1, NULL, &r.kafka) != RV_OK) {
        return 78;
    }
    char errstr[512] = "";
    rv_policy *policy = NULL;
    int code = 0;
    if (rv_policy_load(r.policy_path, &policy, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "replay: %s\n", errstr);
        code = 78;
    } else if (rv_pg_open(dsn, &r.pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "replay: %s\n", errstr);
        code = 69;
    } else {
        r.policy = policy;
        code = is_rebuild ? rebuild(&r, schema, replace, sql_dir, live, dsn)
                          : verify(&r);
    }
    rv_pg_close(r.pg);
    rv_policy_free(policy);
    rv_cfg_fini(sec, 1, &r.kafka);
    return code;
}
