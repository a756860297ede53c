/* common/worker.c: the shared start-up, loop and drain of every worker. */
#include "rv/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rv/health.h"
#include "rv/log.h"

#define TOPICS_MAX 32

#define F(m) offsetof(rv_worker_cfg, m)
static const rv_cfg_key common_keys[] = {
    {"log.level", RV_CFG_STR, F(log_level), "info", 0, 0, RV_CFG_RELOAD,
     "debug, info, warn or error"},
    {"log.format", RV_CFG_STR, F(log_format), "logfmt", 0, 0, 0,
     "logfmt or json"},
    {"group.id", RV_CFG_STR, F(group_id), NULL, 0, 0, 0,
     "consumer group (default: the worker's own)"},
    {"topics", RV_CFG_STR, F(topics), NULL, 0, 0, 0,
     "comma-separated input topics (default: the worker's own)"},
    {"policy.path", RV_CFG_STR, F(policy_path), "deploy/policy/default.yaml", 0,
     0, 0, "policy file (YAML)"},
    {"redis.url", RV_CFG_STR, F(redis_url), "redis://127.0.0.1:6379", 0, 0, 0,
     "Redis server, redis://host:port"},
    {"pg.dsn", RV_CFG_STR, F(pg_dsn), "", 0, 0, RV_CFG_SECRET,
     "libpq connection string"},
    {"produce.topic.prefix", RV_CFG_STR, F(produce_topic_prefix), "", 0, 0, 0,
     "prefix of every produced topic (a replay's, issue 7); \"\" = none"},
    {"batch.max", RV_CFG_INT, F(batch_max), "500", 1, 100000, 0,
     "messages per batch"},
    {"poll.timeout.ms", RV_CFG_INT, F(poll_timeout_ms), "200", 1, 1000, 0,
     "longest wait for a batch, ms"},
    {"flush.timeout.ms", RV_CFG_INT, F(flush_timeout_ms), "30000", 100, 600000,
     0, "longest wait for a batch's output to be delivered, ms"},
    {"backoff.max.ms", RV_CFG_INT, F(backoff_max_ms), "5000", 10, 600000, 0,
     "cap of the retry back-off, ms"},
    {"redis.timeout.ms", RV_CFG_INT, F(redis_timeout_ms), "5000", 10, 600000, 0,
     "Redis connect and command timeout, ms"},
    {"shutdown.timeout.ms", RV_CFG_INT, F(shutdown_timeout_ms), "20000", 100,
     600000, 0, "longest drain on stop, ms"},
    {"tick.ms", RV_CFG_INT, F(tick_ms), "1000", 10, 3600000, 0,
     "period of the worker's timed work (escalations, spot checks), ms"},
    {"watermark.idle.ms", RV_CFG_INT, F(watermark_idle_ms), "60000", 0,
     INT64_C(86400000), 0,
     "a partition without messages this long no longer holds the "
     "event-time watermark back; 0 = never"},
    {"watermark.hold.silent", RV_CFG_BOOL, F(watermark_hold_silent), "false", 0,
     0, 0,
     "true: a partition once heard from holds the event-time watermark "
     "back however long it is silent (replays: their input is finite)"},
    {"startup.wait.ms", RV_CFG_INT, F(startup_wait_ms), "60000", 0, 3600000, 0,
     "how long start-up retries a Redis or PostgreSQL server that does "
     "not answer (restarting), ms; 0 = fail at once"},
    {"health.port", RV_CFG_INT, F(health_port), "0", 0, 65535, 0,
     "port of the health probe, GET /healthz: 200 ok or 503 red; 0 = none"},
    {"health.address", RV_CFG_STR, F(health_address), "127.0.0.1", 0, 0, 0,
     "IPv4 address the health probe listens on"},
    {"health.red.after", RV_CFG_INT, F(health_red_after), "5", 1, 1000000, 0,
     "failed attempts in a row (a batch's or a tick's) that turn the "
     "health red until the next success"},
    {0},
};
#undef F

/* Splits "a,b , c" into up to TOPICS_MAX trimmed names inside @p buf. */
static size_t split_topics(char *buf, const char **out, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL && n < cap;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') {
            t++;
        }
        size_t len = strlen(t);
        while (len > 0 && t[len - 1] == ' ') {
            t[--len] = '\0';
        }
        if (len > 0) {
            out[n++] = t;
        }
    }
    return n;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether start-up should try @p server again after @p err: only a
 * server that does not answer (RV_ERR_UNAVAILABLE: restarting, say),
 * before @p deadline_ms and no stop asked. Sleeps the back-off (100 ms
 * doubling up to backoff.max.ms) before saying yes. */
static bool startup_retry(const rv_worker *w, rv_err err, const char *server,
                          const char *reason, int attempt, int64_t deadline_ms)
{
    if (err != RV_ERR_UNAVAILABLE || rv_stop_requested()) {
        return false;
    }
    int64_t delay_ms = 100;
    for (int i = 1; i < attempt && delay_ms < w->cfg.backoff_max_ms; i++) {
        delay_ms *= 2;
    }
    if (delay_ms > w->cfg.backoff_max_ms) {
        delay_ms = w->cfg.backoff_max_ms;
    }
    if (monotonic_ms() + delay_ms > deadline_ms) {
        return false;
    }
    RV_LOG(RV_LOG_WARN, "server_unavailable_at_start",
           RV_KV_STR("server", server), RV_KV_STR("reason", reason),
           RV_KV_INT("attempt", attempt), RV_KV_INT("retry_in_ms", delay_ms));
    char what[64];
    snprintf(what, sizeof(what), "%s unavailable", server);
    rv_health_note_failure(w->health, what);
    struct timespec ts = {.tv_sec = (time_t)(delay_ms / 1000),
                          .tv_nsec = (long)(delay_ms % 1000) * 1000000};
    nanosleep(&ts, NULL); /* a signal cuts it short: checked next time */
    return !rv_stop_requested();
}

bool rv_worker_startup_retry(const rv_worker *w, rv_err err, const char *server,
                             const char *reason, int attempt,
                             int64_t *deadline_ms)
{
    if (attempt == 1) {
        *deadline_ms = monotonic_ms() + w->cfg.startup_wait_ms;
    }
    return startup_retry(w, err, server, reason, attempt, *deadline_ms);
}

static rv_err open_clients(rv_worker *w)
{
    char errstr[512] = "";
    const rv_worker_spec *spec = w->spec;
    rv_err err = RV_OK;
    if (spec->needs_policy) {
        err = rv_policy_load(w->cfg.policy_path, &w->policy, errstr,
                             sizeof(errstr));
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "policy_invalid",
                   RV_KV_STR("path", w->cfg.policy_path),
                   RV_KV_STR("reason", errstr));
            return RV_ERR_INVALID;
        }
        err = rv_calendar_new(w->policy, &w->cal, errstr, sizeof(errstr));
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "calendar_invalid",
                   RV_KV_STR("reason", errstr));
            return RV_ERR_INVALID;
        }
        RV_LOG(RV_LOG_INFO, "policy_loaded",
               RV_KV_STR("version", w->policy->version),
               RV_KV_STR("digest", w->policy->digest),
               RV_KV_INT("rules", w->policy->rule_count),
               RV_KV_INT("agents", w->policy->agent_count));
    }
    err =
        rv_producer_open(&w->kafka, spec->name, &w->kp, errstr, sizeof(errstr));
    if (err == RV_OK) {
        err = rv_producer_set_topic_prefix(w->kp, w->cfg.produce_topic_prefix);
        if (err != RV_OK) {
            rv_errf(errstr, sizeof(errstr),
                    "produce.topic.prefix is longer than %d bytes",
                    RV_TOPIC_PREFIX_SIZE - 1);
        }
    }
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "producer_open_failed",
               RV_KV_STR("reason", errstr));
        return err;
    }
    if (spec->needs_redis) {
        int64_t deadline_ms = monotonic_ms() + w->cfg.startup_wait_ms;
        for (int attempt = 1;; attempt++) {
            err = rv_redis_open(w->cfg.redis_url, (int)w->cfg.redis_timeout_ms,
                                &w->rc, errstr, sizeof(errstr));
            if (!startup_retry(w, err, "redis", errstr, attempt, deadline_ms)) {
                break;
            }
        }
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "redis_open_failed",
                   RV_KV_STR("reason", errstr));
            return err;
        }
    }
    if (spec->needs_pg) {
        int64_t deadline_ms = monotonic_ms() + w->cfg.startup_wait_ms;
        for (int attempt = 1;; attempt++) {
            err = rv_pg_open(w->cfg.pg_dsn, &w->pg, errstr, sizeof(errstr));
            if (!startup_retry(w, err, "postgres", errstr, attempt,
                               deadline_ms)) {
                break;
            }
        }
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "pg_open_failed", RV_KV_STR("reason", errstr));
            return err;
        }
    }
    return RV_OK;
}

static rv_err open_consumer(rv_worker *w)
{
    char errstr[512] = "";
    const char *topics[TOPICS_MAX];
    char *buf = strdup(w->cfg.topics);
    if (buf == NULL) {
        return RV_ERR_NOMEM;
    }
    size_t n = split_topics(buf, topics, TOPICS_MAX);
    rv_err err = RV_ERR_INVALID;
    if (n == 0) {
        rv_errf(errstr, sizeof(errstr), "topics: no input topic");
    } else {
        err = rv_consumer_open(&w->kafka, w->cfg.group_id, topics, n, &w->kc,
                               errstr, sizeof(errstr));
    }
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "consumer_open_failed",
               RV_KV_STR("reason", errstr));
    } else {
        /* Before the first poll, so before the first assignment. */
        rv_consumer_set_position_fn(w->kc, w->position_fn, w->position_ctx);
        RV_LOG(RV_LOG_INFO, "subscribed", RV_KV_STR("group", w->cfg.group_id),
               RV_KV_STR("topics", w->cfg.topics));
    }
    free(buf);
    return err;
}

static void close_all(rv_worker *w)
{
    rv_consumer_close(w->kc);
    w->kc = NULL;
    rv_producer_close(w->kp, (int)w->cfg.shutdown_timeout_ms);
    w->kp = NULL;
    rv_redis_close(w->rc);
    w->rc = NULL;
    rv_pg_close(w->pg);
    w->pg = NULL;
    rv_calendar_free(w->cal);
    w->cal = NULL;
    rv_policy_free(w->policy);
    w->policy = NULL;
}

/* --check-config's count of problems; each is one line on stderr. */
typedef struct check_tally {
    size_t problems;
} check_tally;

static void report_problem(void *arg, const char *key, const char *why)
{
    check_tally *tally = arg;
    fprintf(stderr, "config: %s: %s\n", key, why);
    tally->problems++;
}

/* --check-config: the policy and its calendar load; on success the
 * policy's line on stdout. */
static rv_err check_policy(const char *path, check_tally *tally)
{
    char errstr[512] = "";
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    rv_err err = rv_policy_load(path, &p, errstr, sizeof(errstr));
    if (err == RV_OK) {
        err = rv_calendar_new(p, &cal, errstr, sizeof(errstr));
    }
    if (err != RV_OK) {
        report_problem(tally, "policy.path", errstr);
    } else {
        printf("policy %s: version %s, %u rules, %u branches, %u agents, "
               "sha256 %s\n",
               path, p->version, p->rule_count, p->branch_count, p->agent_count,
               p->digest);
    }
    rv_calendar_free(cal);
    rv_policy_free(p);
    return err;
}

/* The graver of two check results: out of memory, then a problem. */
static rv_err graver(rv_err a, rv_err b)
{
    return a == RV_ERR_NOMEM || b == RV_OK ? a : b;
}

/* --check-config (tester finding 9): every setting start-up uses, checked
 * the way start-up uses it but without any server, every problem
 * reported. Returns the exit code: 0, RV_CFG_EXIT_CONFIG or 1 (out of
 * memory). */
static int check_config(const rv_worker *w)
{
    const rv_worker_spec *spec = w->spec;
    check_tally tally = {0};
    rv_err worst = RV_OK;
    if (spec->needs_policy) {
        worst = graver(worst, check_policy(w->cfg.policy_path, &tally));
    }
    if (spec->needs_redis) {
        char errstr[256] = "";
        rv_err err =
            rv_redis_url_check(w->cfg.redis_url, errstr, sizeof(errstr));
        if (err != RV_OK) {
            report_problem(&tally, "redis.url", errstr);
        }
        worst = graver(worst, err);
    }
    /* Settings start-up would find missing only once it runs. */
    const char *bootstrap = NULL;
    for (size_t i = 0; i < w->kafka.count; i++) {
        if (strcmp(w->kafka.names[i], "bootstrap.servers") == 0) {
            bootstrap = w->kafka.values[i];
        }
    }
    if (bootstrap == NULL || bootstrap[0] == '\0') {
        report_problem(&tally, "kafka.bootstrap.servers",
                       "not set (set it in the file or "
                       "RV_KAFKA_BOOTSTRAP_SERVERS)");
    }
    char *buf = strdup(w->cfg.topics);
    const char *names[TOPICS_MAX];
    if (buf == NULL) {
        worst = RV_ERR_NOMEM;
    } else if (split_topics(buf, names, TOPICS_MAX) == 0) {
        report_problem(&tally, "topics", "no input topic");
    }
    free(buf);
    if (spec->needs_pg && w->cfg.pg_dsn[0] != '\0') {
        char errstr[512] = "";
        rv_err err = rv_pg_dsn_check(w->cfg.pg_dsn, errstr, sizeof(errstr));
        if (err != RV_OK) {
            report_problem(&tally, "pg.dsn", errstr);
        }
        worst = graver(worst, err);
    }
    worst = graver(worst,
                   rv_kafka_check_config(&w->kafka, spec->name, w->cfg.group_id,
                                         report_problem, &tally));
    worst = graver(worst, rv_health_check_address(w->cfg.health_address,
                                                  w->cfg.health_port,
                                                  report_problem, &tally));
    if (spec->check_config != NULL) {
        worst = graver(worst, spec->check_config(spec->extra_base,
                                                 report_problem, &tally));
    }
    if (worst == RV_ERR_NOMEM) {
        fprintf(stderr, "config: out of memory while checking\n");
        return 1;
    }
    return worst != RV_OK || tally.problems > 0 ? RV_CFG_EXIT_CONFIG : 0;
}

/* What a SIGHUP needs: the worker and where its config came from. */
typedef struct reload_ctx {
    rv_worker *w;
    const char *config_path;
} reload_ctx;

/* SIGHUP (STYLE §8): re-read the file and the environment; apply the keys
 * flagged RV_CFG_RELOAD (log.level); keep the old config if the new one
 * is invalid. */
/* SIGHUP and the policy (issue 6): the file is read and checked again.
 * An invalid file changes nothing and says why; a valid one with another
 * version is reported, one with other bytes under the same version is an
 * error (policy_changed_same_version), and a change takes effect when
 * the worker restarts (each
 * worker derives its state from the policy at start; replicas restart one
 * by one). The running policy stays in force either way. */
static void reload_policy_check(rv_worker *w)
{
    char errstr[512] = "";
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    rv_err err = rv_policy_load(w->cfg.policy_path, &p, errstr, sizeof(errstr));
    if (err == RV_OK) {
        err = rv_calendar_new(p, &cal, errstr, sizeof(errstr));
    }
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "policy_reload_failed",
               RV_KV_STR("path", w->cfg.policy_path),
               RV_KV_STR("kept_version", w->policy->version),
               RV_KV_STR("reason", errstr));
    } else if (strcmp(p->version, w->policy->version) != 0) {
        RV_LOG(RV_LOG_WARN, "policy_changed_restart_to_apply",
               RV_KV_STR("path", w->cfg.policy_path),
               RV_KV_STR("running_version", w->policy->version),
               RV_KV_STR("file_version", p->version));
    } else if (strcmp(p->digest, w->policy->digest) != 0) {
        /* Same version, other bytes: a restart would apply other rules
         * under a version the record already holds, and a replay of that
         * version could no longer say which (DESIGN: same input and
         * policy, same tasks). */
        RV_LOG(RV_LOG_ERROR, "policy_changed_same_version",
               RV_KV_STR("path", w->cfg.policy_path),
               RV_KV_STR("version", p->version),
               RV_KV_STR("running_digest", w->policy->digest),
               RV_KV_STR("file_digest", p->digest),
               RV_KV_STR("reason",
                         "the file differs from the running policy but "
                         "keeps its version: give the change a new "
                         "version before a restart applies it"));
    } else {
        RV_LOG(RV_LOG_INFO, "policy_unchanged",
               RV_KV_STR("version", p->version),
               RV_KV_STR("digest", p->digest));
    }
    rv_calendar_free(cal);
    rv_policy_free(p);
}

static void reload_config(void *arg)
{
    reload_ctx *r = arg;
    const rv_worker_spec *spec = r->w->spec;
    rv_worker_cfg fresh = {0};
    /* The worker's own keys load into scratch room: every value is at most
     * 8 bytes at its offset. */
    size_t extra_size = 0;
    for (const rv_cfg_key *k = spec->extra_keys; k != NULL && k->name; k++) {
        extra_size = k->offset + 8 > extra_size ? k->offset + 8 : extra_size;
    }
    void *extra = calloc(1, extra_size > 0 ? extra_size : 1);
    rv_cfg_section sec[2] = {{common_keys, &fresh}, {spec->extra_keys, extra}};
    size_t sec_count = spec->extra_keys != NULL ? 2 : 1;
    rv_props kafka = {0};
    rv_log_level level = RV_LOG_INFO;
    rv_err err = extra != NULL
                     ? rv_cfg_load(sec, sec_count, r->config_path, &kafka)
                     : RV_ERR_NOMEM;
    if (err == RV_OK && rv_log_level_parse(fresh.log_level, &level) != RV_OK) {
        err = RV_ERR_INVALID;
    }
    if (err != RV_OK) {
        RV_LOG(RV_LOG_WARN, "config_reload_failed",
               RV_KV_STR("error", rv_err_str(err)));
    } else {
        rv_log_init(spec->name, level,
                    strcmp(r->w->cfg.log_format, "json") == 0 ? RV_LOG_JSON
                                                              : RV_LOG_LOGFMT);
        RV_LOG(RV_LOG_INFO, "config_reloaded",
               RV_KV_STR("log_level", fresh.log_level));
    }
    if (extra != NULL) {
        rv_cfg_fini(sec, sec_count, &kafka);
    }
    free(extra);
    if (spec->needs_policy) {
        reload_policy_check(r->w);
    }
}

/* Fills defaults that depend on the spec (group, topics). */
static rv_err apply_spec_defaults(rv_worker *w)
{
    if (w->cfg.group_id == NULL) {
        w->cfg.group_id = strdup(w->spec->default_group);
    }
    if (w->cfg.topics == NULL) {
        w->cfg.topics = strdup(w->spec->default_topics);
    }
    return w->cfg.group_id != NULL && w->cfg.topics != NULL ? RV_OK
                                                            : RV_ERR_NOMEM;
}

/* The @p q quantile of @p h in ms. */
static double ms_of(const rv_hist *h, double q)
{
    return (double)rv_hist_quantile(h, q) / 1000.0;
}

int rv_worker_main(int argc, char **argv, const rv_worker_spec *spec,
                   rv_worker_init_fn init, rv_batch_fn fn,
                   rv_worker_fini_fn fini)
{
    rv_worker w = {.spec = spec};
    rv_cfg_section sections[2] = {{common_keys, &w.cfg},
                                  {spec->extra_keys, spec->extra_base}};
    size_t section_count = spec->extra_keys != NULL ? 2 : 1;
    rv_cli cli;
    int code = 0;
    void *ctx = NULL;

    rv_signals_install();
    if (rv_cli_parse(argc, argv, &cli) != RV_OK) {
        return RV_CFG_EXIT_USAGE;
    }
    if (cli.help) {
        printf("usage: revisit-%s [-c FILE] [--check-config] [--help]\n",
               spec->name);
        rv_cfg_help(sections, section_count, stdout);
        return 0;
    }
    rv_err err =
        rv_cfg_load(sections, section_count, cli.config_path, &w.kafka);
    /* A setting refused here is printed at once; start-up stops, while
     * --check-config goes on to say every other problem too (the
     * refused setting keeps its default). */
    size_t refused = 0;
    if (err == RV_ERR_INVALID) {
        refused++;
        err = RV_OK;
    }
    rv_log_level level = RV_LOG_INFO;
    rv_log_format format = RV_LOG_LOGFMT;
    if (err == RV_OK && rv_log_level_parse(w.cfg.log_level, &level) != RV_OK) {
        fprintf(stderr,
                "config: log.level: \"%s\" is not debug, info, "
                "warn or error\n",
                w.cfg.log_level);
        refused++;
    }
    if (err == RV_OK &&
        rv_log_format_parse(w.cfg.log_format, &format) != RV_OK) {
        fprintf(stderr, "config: log.format: \"%s\" is not logfmt or json\n",
                w.cfg.log_format);
        refused++;
    }
    if (err == RV_OK) {
        err = apply_spec_defaults(&w);
    }
    if (err == RV_OK && spec->needs_pg && w.cfg.pg_dsn[0] == '\0') {
        fprintf(stderr, "config: pg.dsn: required (set RV_PG_DSN)\n");
        refused++;
    }
    if (err != RV_OK || (refused > 0 && !cli.check_config)) {
        rv_cfg_fini(sections, section_count, &w.kafka);
        return err == RV_ERR_NOMEM ? 1 : RV_CFG_EXIT_CONFIG;
    }
    if (cli.check_config) {
        rv_cfg_print(sections, section_count, &w.kafka, stdout);
        code = check_config(&w);
        rv_cfg_fini(sections, section_count, &w.kafka);
        return code == 0 && refused > 0 ? RV_CFG_EXIT_CONFIG : code;
    }
    rv_log_init(spec->name, level, format);
    RV_LOG(RV_LOG_INFO, "start", RV_KV_STR("version", RV_VERSION),
           RV_KV_STR("group", w.cfg.group_id),
           RV_KV_INT("batch_max", w.cfg.batch_max));

    rv_runner_stats stats = {0};
    char herr[256] = "";
    err = rv_health_start(w.cfg.health_address, (int)w.cfg.health_port,
                          (int)w.cfg.health_red_after, &w.health, herr,
                          sizeof(herr));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "health_start_failed", RV_KV_STR("reason", herr));
    } else {
        err = open_clients(&w);
    }
    if (err == RV_OK) {
        if (init != NULL) {
            err = init(&w, &ctx);
        } else {
            ctx = &w;
        }
    }
    if (err == RV_OK) {
        err = open_consumer(&w);
    }
    if (err == RV_OK) {
        rv_health_ready(w.health);
    }
    reload_ctx reload = {.w = &w, .config_path = cli.config_path};
    if (err == RV_OK) {
        rv_runner_opts opts = {
            .batch_max = (size_t)w.cfg.batch_max,
            .poll_timeout_ms = (int)w.cfg.poll_timeout_ms,
            .flush_timeout_ms = (int)w.cfg.flush_timeout_ms,
            .backoff_max_ms = w.cfg.backoff_max_ms,
            .on_reload = reload_config,
            .reload_arg = &reload,
            .on_tick = spec->tick,
            .on_durable = spec->durable,
            .tick_ms = w.cfg.tick_ms,
            .health = w.health,
        };
        err = rv_runner_run(w.kc, w.kp, fn, ctx, &opts, &stats);
    }
    if (err == RV_ERR_INVALID) {
        code = RV_CFG_EXIT_CONFIG; /* policy or setup rejected at start */
    } else if (err != RV_OK) {
        code = 1;
        RV_LOG(RV_LOG_ERROR, "stopped_on_error",
               RV_KV_STR("error", rv_err_str(err)));
    }
    close_all(&w);
    if (fini != NULL && init != NULL) {
        fini(ctx);
    }
    rv_health_stop(w.health);
    RV_LOG(RV_LOG_INFO, "shutdown_complete", RV_KV_INT("exit_code", code),
           RV_KV_INT("batches", (int64_t)stats.batches),
           RV_KV_INT("messages", (int64_t)stats.messages),
           RV_KV_INT("retries", (int64_t)stats.retries),
           RV_KV_INT("busy_ms", (int64_t)(stats.busy_us / 1000)),
           RV_KV_DBL("events_per_s",
                     stats.busy_us > 0
                         ? (double)stats.messages * 1e6 / (double)stats.busy_us
                         : 0.0),
           /* Where a latency tail comes from (issue 8): a message waits
            * for its whole batch, and for any tick run before it. */
           RV_KV_DBL("batch_p50_ms", ms_of(&stats.batch_us, 0.5)),
           RV_KV_DBL("batch_p99_ms", ms_of(&stats.batch_us, 0.99)),
           RV_KV_DBL("batch_max_ms", ms_of(&stats.batch_us, 1.0)),
           RV_KV_DBL("flush_p50_ms", ms_of(&stats.flush_us, 0.5)),
           RV_KV_DBL("flush_p99_ms", ms_of(&stats.flush_us, 0.99)),
           RV_KV_DBL("commit_p50_ms", ms_of(&stats.commit_us, 0.5)),
           RV_KV_DBL("commit_p99_ms", ms_of(&stats.commit_us, 0.99)),
           RV_KV_INT("ticks", (int64_t)stats.tick_us.count),
           RV_KV_INT("tick_busy_ms", (int64_t)(stats.tick_us.sum_us / 1000)),
           RV_KV_DBL("tick_p99_ms", ms_of(&stats.tick_us, 0.99)),
           RV_KV_DBL("tick_max_ms", ms_of(&stats.tick_us, 1.0)));
    rv_cfg_fini(sections, section_count, &w.kafka);
    return code;
}

rv_err rv_worker_reject(rv_worker *w, rv_producer *kp, const rv_msg *m,
                        const char *reason)
{
    uint64_t suppressed = 0;
    if (rv_log_ratelimit_allow(&w->reject_rl, &suppressed)) {
        RV_LOG(RV_LOG_WARN, "message_rejected", RV_KV_STR("topic", m->topic),
               RV_KV_INT("partition", m->partition),
               RV_KV_INT("offset", m->offset), RV_KV_STR("reason", reason),
               RV_KV_INT("suppressed", (int64_t)suppressed));
    }
    return rv_producer_send_dlq(kp, m, reason);
}
