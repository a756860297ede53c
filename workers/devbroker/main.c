/* workers/devbroker/main.c: a development Kafka broker on librdkafka's
 * mock cluster, reached over TCP on 127.0.0.1 like any Kafka.
 *
 * The mock cluster lives inside a client handle and keeps everything in
 * memory: nothing survives a restart. It auto-creates unknown topics
 * with 4 partitions, so every topic of the system is created up front
 * with its real partition count. This is the one program outside
 * common/kafka.c that includes librdkafka: the mock API has no wrapper
 * because no worker may use it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "devbroker_control.h"
#include "devbroker_sock.h"
#include "devbroker_topics.h"
#include "rv/cfg.h"
#include "rv/log.h"
#include "rv/runner.h"

#define WORKER "devbroker"
#define EXIT_FATAL 1
/* Bounded wait of the main loop, so a stop flag is seen within it. */
#define POLL_TIMEOUT_MS 500
#define REPLICATION_MAX 3

struct devbroker_cfg {
    int64_t brokers;
    char *topics;
    char *bootstrap_file;
    char *control_file;
    char *log_level;
    char *log_format;
};

#define F(m) offsetof(struct devbroker_cfg, m)
static const rv_cfg_key devbroker_keys[] = {
    {"devbroker.brokers", RV_CFG_INT, F(brokers), "3", 1, 16, 0,
     "number of mock brokers (ids 1..N)"},
    {"devbroker.topics", RV_CFG_STR, F(topics),
     "sales.events:6,service.events:6,visits.tasks:6,visits.retries:6,"
     "visits.assignments:6,visits.outcomes:6,visits.grades:6,"
     "compliance.alerts:6,compliance.cases:6,visits.decisions:6",
     0, 0, 0,
     "topics to create as name:partitions,...; each also gets its "
     "<name>.dlq twin with the same count"},
    {"devbroker.bootstrap.file", RV_CFG_STR, F(bootstrap_file), NULL, 0, 0,
     RV_CFG_REQUIRED,
     "file that receives the bootstrap servers (written atomically)"},
    {"devbroker.control.file", RV_CFG_STR, F(control_file), NULL, 0, 0, 0,
     "fault commands to apply, one a line (see devbroker_control.h); "
     "the broker takes the file, applies it and writes <file>.done"},
    {"log.level", RV_CFG_STR, F(log_level), "info", 0, 0, 0,
     "debug, info, warn or error"},
    {"log.format", RV_CFG_STR, F(log_format), "logfmt", 0, 0, 0,
     "logfmt or json"},
    {0},
};
#undef F

/* librdkafka's syslog levels onto ours; called from its threads, and
 * rv_log_emit is thread-safe. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                           const char *buf)
{
    (void)rk;
    rv_log_level lvl = level <= 3   ? RV_LOG_ERROR
                       : level == 4 ? RV_LOG_WARN
                       : level <= 6 ? RV_LOG_INFO
                                    : RV_LOG_DEBUG;
    RV_LOG(lvl, "rdkafka_log", RV_KV_STR("lib", "rdkafka"),
           RV_KV_STR("fac", fac), RV_KV_STR("msg", buf));
}

/* Writes @p text to "<path>.tmp.<pid>" and renames it over @p path, so a
 * reader sees either no file or the whole line. */
static rv_err write_file_atomic(const char *path, const char *text)
{
    rv_err err = RV_ERR_UNAVAILABLE;
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        RV_LOG(RV_LOG_ERROR, "file_write_failed", RV_KV_STR("path", path),
               RV_KV_STR("reason", "path too long"));
        return RV_ERR_INVALID;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        int saved = errno;
        RV_LOG(RV_LOG_ERROR, "file_write_failed", RV_KV_STR("path", tmp),
               RV_KV_STR("reason", strerror(saved)));
        return err;
    }
    int ok = fprintf(f, "%s\n", text) >= 0;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int saved = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        RV_LOG(RV_LOG_ERROR, "file_write_failed", RV_KV_STR("path", tmp),
               RV_KV_STR("reason", strerror(saved)));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        RV_LOG(RV_LOG_ERROR, "file_write_failed", RV_KV_STR("path", path),
               RV_KV_STR("reason", strerror(saved)));
        goto out;
    }
    err = RV_OK;
out:
    if (err != RV_OK) {
        unlink(tmp);
    }
    return err;
}

/* Builds the hosting handle's conf from the kafka.* keys. Problems go to
 * stderr like every other config problem.
 * @returns RV_OK (*out owned by the caller), RV_ERR_INVALID */
static rv_err build_conf(const rv_props *kafka, rd_kafka_conf_t **out)
{
    char errstr[512];
    rv_err err = RV_OK;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    if (rd_kafka_conf_set(conf, "client.id", "revisit-devbroker", errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config: kafka.client.id: %s\n", errstr);
        err = RV_ERR_INVALID;
    }
    for (size_t i = 0; i < kafka->count; i++) {
        /* The handle only hosts the cluster; pointing it at another one
         * (say a stale RV_KAFKA_BOOTSTRAP_SERVERS) is never meant. */
        if (strcmp(kafka->names[i], "bootstrap.servers") == 0) {
            fprintf(stderr, "config: kafka.bootstrap.servers is ignored: "
                            "the broker hosts its own cluster\n");
            continue;
        }
        if (rd_kafka_conf_set(conf, kafka->names[i], kafka->values[i], errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "config: kafka.%s: %s\n", kafka->names[i], errstr);
            err = RV_ERR_INVALID;
        }
    }
    if (err != RV_OK) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    *out = conf;
    return RV_OK;
}

static rv_err create_topics(rd_kafka_mock_cluster_t *mcluster,
                            const devbroker_topics *topics, int brokers)
{
    int replication = brokers < REPLICATION_MAX ? brokers : REPLICATION_MAX;
    for (size_t i = 0; i < topics->count; i++) {
        const devbroker_topic *t = &topics->items[i];
        rd_kafka_resp_err_t kerr = rd_kafka_mock_topic_create(
            mcluster, t->name, t->partitions, replication);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            RV_LOG(RV_LOG_ERROR, "topic_create_failed",
                   RV_KV_STR("topic", t->name),
                   RV_KV_STR("reason", rd_kafka_err2str(kerr)));
            return RV_ERR_FATAL;
        }
        RV_LOG(RV_LOG_DEBUG, "topic_created", RV_KV_STR("topic", t->name),
               RV_KV_INT("partitions", t->partitions),
               RV_KV_INT("replication", replication));
    }
    return RV_OK;
}

/* Applies one parsed command to the cluster. @returns the mock's error. */
static rd_kafka_resp_err_t apply_ctl(rd_kafka_mock_cluster_t *mcluster,
                                     const devbroker_ctl *c)
{
    switch (c->kind) {
    case DEVBROKER_CTL_DOWN:
        return rd_kafka_mock_broker_set_down(mcluster, c->broker_id);
    case DEVBROKER_CTL_UP:
        return rd_kafka_mock_broker_set_up(mcluster, c->broker_id);
    case DEVBROKER_CTL_RTT:
        return rd_kafka_mock_broker_set_rtt(mcluster, c->broker_id, c->rtt_ms);
    case DEVBROKER_CTL_ERRORS: {
        rd_kafka_resp_err_t *errs = calloc((size_t)c->count, sizeof(*errs));
        if (errs == NULL) {
            return RD_KAFKA_RESP_ERR__FAIL;
        }
        for (int i = 0; i < c->count; i++) {
            errs[i] = (rd_kafka_resp_err_t)c->err_code;
        }
        rd_kafka_mock_push_request_errors_array(mcluster, c->api_key,
                                                (size_t)c->count, errs);
        free(errs);
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    case DEVBROKER_CTL_COORDINATOR:
        return rd_kafka_mock_coordinator_set(mcluster, "group", c->group,
                                             c->broker_id);
    case DEVBROKER_CTL_SKIP:
        break;
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Takes the control file @p path if there is one: applies its commands
 * in order, stops at the first bad one, and writes "<path>.done" with
 * "ok N" (N commands applied) or "error line L: why". Taking is a
 * rename, so a writer that renames its file into place is never read
 * half-written. */
static void take_control_file(rd_kafka_mock_cluster_t *mcluster,
                              const char *path)
{
    char taking[4096], done[4096], result[512];
    if (snprintf(taking, sizeof(taking), "%s.taking", path) >=
            (int)sizeof(taking) ||
        snprintf(done, sizeof(done), "%s.done", path) >= (int)sizeof(done)) {
        return; /* checked at start-up */
    }
    if (rename(path, taking) != 0) {
        return; /* no command waiting (ENOENT) */
    }
    FILE *f = fopen(taking, "r");
    if (f == NULL) {
        snprintf(result, sizeof(result), "error: %s", strerror(errno));
        write_file_atomic(done, result);
        return;
    }
    char line[512];
    int lineno = 0, applied = 0;
    snprintf(result, sizeof(result), "ok");
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        devbroker_ctl c;
        char why[256] = "";
        if (devbroker_ctl_parse(line, &c, why, sizeof(why)) != RV_OK) {
            snprintf(result, sizeof(result), "error line %d: %s", lineno, why);
            break;
        }
        if (c.kind == DEVBROKER_CTL_SKIP) {
            continue;
        }
        rd_kafka_resp_err_t kerr = apply_ctl(mcluster, &c);
        line[strcspn(line, "\r\n")] = '\0';
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(result, sizeof(result), "error line %d: %s", lineno,
                     rd_kafka_err2str(kerr));
            break;
        }
        applied++;
        RV_LOG(RV_LOG_WARN, "fault_applied", RV_KV_STR("command", line));
    }
    fclose(f);
    unlink(taking);
    if (strcmp(result, "ok") == 0) {
        snprintf(result, sizeof(result), "ok %d", applied);
    } else {
        RV_LOG(RV_LOG_ERROR, "fault_refused", RV_KV_STR("result", result));
    }
    if (write_file_atomic(done, result) != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "fault_result_lost", RV_KV_STR("path", done));
    }
}

/* Everything after the config: cluster up, topics, file, wait, down.
 * Takes ownership of @p conf. */
static int run(const struct devbroker_cfg *cfg, const devbroker_topics *topics,
               rd_kafka_conf_t *conf)
{
    int rc = EXIT_FATAL;
    rd_kafka_mock_cluster_t *mcluster = NULL;
    int wrote_file = 0;
    char errstr[512];

    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        RV_LOG(RV_LOG_ERROR, "kafka_init_failed", RV_KV_STR("reason", errstr));
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        goto out;
    }
    conf = NULL; /* the handle owns it now */
    mcluster = rd_kafka_mock_cluster_new(rk, (int)cfg->brokers);
    if (mcluster == NULL) {
        RV_LOG(RV_LOG_ERROR, "mock_cluster_failed",
               RV_KV_INT("brokers", cfg->brokers));
        goto out;
    }
    if (create_topics(mcluster, topics, (int)cfg->brokers) != RV_OK) {
        goto out;
    }
    /* Before the address file: no client can have connected yet. */
    int nodelay = devbroker_listeners_nodelay();
    RV_LOG(nodelay == (int)cfg->brokers ? RV_LOG_INFO : RV_LOG_WARN,
           "listeners_nodelay", RV_KV_INT("sockets", nodelay),
           RV_KV_INT("brokers", cfg->brokers));
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);
    if (write_file_atomic(cfg->bootstrap_file, bootstraps) != RV_OK) {
        goto out;
    }
    wrote_file = 1;
    RV_LOG(RV_LOG_INFO, "ready", RV_KV_STR("bootstrap_servers", bootstraps),
           RV_KV_INT("brokers", cfg->brokers),
           RV_KV_INT("topics", (int64_t)topics->count),
           RV_KV_STR("bootstrap_file", cfg->bootstrap_file));

    /* The mock brokers run on their own thread; this loop only serves
     * the handle's callbacks and watches the stop flag. SIGHUP only sets
     * a reload flag that nobody takes: there is nothing to reload. */
    while (!rv_stop_requested()) {
        rd_kafka_poll(rk, POLL_TIMEOUT_MS);
        if (cfg->control_file != NULL) {
            take_control_file(mcluster, cfg->control_file);
        }
    }
    RV_LOG0(RV_LOG_INFO, "draining");
    rc = 0;
out:
    /* The addresses die with the cluster: a stale file would send
     * clients to ports that nobody (or somebody else) listens on. */
    if (wrote_file) {
        unlink(cfg->bootstrap_file);
    }
    if (mcluster != NULL) {
        rd_kafka_mock_cluster_destroy(mcluster);
    }
    if (rk != NULL) {
        rd_kafka_destroy(rk);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct devbroker_cfg cfg = {0};
    rv_props kafka = {0};
    devbroker_topics topics = {0};
    rd_kafka_conf_t *conf = NULL;
    const rv_cfg_section sections[] = {{devbroker_keys, &cfg}};
    const size_t section_count = sizeof(sections) / sizeof(sections[0]);
    int rc = RV_CFG_EXIT_CONFIG;
    char errstr[512];

    rv_cli cli;
    if (rv_cli_parse(argc, argv, &cli) != RV_OK) {
        return RV_CFG_EXIT_USAGE;
    }
    if (cli.help) {
        printf("usage: revisit-devbroker [-c FILE] [--check-config] "
               "[--help]\n"
               "Development Kafka broker (librdkafka mock cluster, in "
               "memory). kafka.* keys go to the handle that hosts the\n"
               "cluster (kafka.debug=mock is useful); "
               "kafka.bootstrap.servers is ignored.\n");
        rv_cfg_help(sections, section_count, stdout);
        return 0;
    }

    /* Check everything, report every problem, then decide. */
    rv_err err = rv_cfg_load(sections, section_count, cli.config_path, &kafka);
    if (err == RV_ERR_NOMEM) {
        goto nomem;
    }
    int is_bad = err != RV_OK;
    rv_log_level level = RV_LOG_INFO;
    rv_log_format format = RV_LOG_LOGFMT;
    if (cfg.log_level != NULL &&
        rv_log_level_parse(cfg.log_level, &level) != RV_OK) {
        fprintf(stderr,
                "config: log.level: \"%s\" is not one of debug, info, "
                "warn, error\n",
                cfg.log_level);
        is_bad = 1;
    }
    if (cfg.log_format != NULL &&
        rv_log_format_parse(cfg.log_format, &format) != RV_OK) {
        fprintf(stderr, "config: log.format: \"%s\" is not logfmt or json\n",
                cfg.log_format);
        is_bad = 1;
    }
    err =
        devbroker_topics_parse(cfg.topics, 1, &topics, errstr, sizeof(errstr));
    if (err == RV_ERR_NOMEM) {
        goto nomem;
    }
    if (err != RV_OK) {
        fprintf(stderr, "config: devbroker.topics: %s\n", errstr);
        is_bad = 1;
    }
    if (cfg.bootstrap_file != NULL && cfg.bootstrap_file[0] == '\0') {
        fprintf(stderr, "config: devbroker.bootstrap.file is empty\n");
        is_bad = 1;
    }
    if (cfg.control_file != NULL &&
        (cfg.control_file[0] == '\0' || strlen(cfg.control_file) > 4000)) {
        fprintf(stderr, "config: devbroker.control.file is empty or longer "
                        "than 4000 bytes\n");
        is_bad = 1;
    }
    if (build_conf(&kafka, &conf) != RV_OK) {
        is_bad = 1;
    }
    if (is_bad) {
        goto out; /* rc is EX_CONFIG */
    }
    if (cli.check_config) {
        rv_cfg_print(sections, section_count, &kafka, stdout);
        rc = 0;
        goto out;
    }

    rv_log_init(WORKER, level, format);
    /* Before any librdkafka handle: its threads inherit the mask. */
    rv_signals_install();
    RV_LOG(RV_LOG_INFO, "starting", RV_KV_STR("version", RV_VERSION),
           RV_KV_STR("librdkafka", rd_kafka_version_str()),
           RV_KV_INT("brokers", cfg.brokers),
           RV_KV_INT("topics", (int64_t)topics.count));
    rc = run(&cfg, &topics, conf);
    conf = NULL; /* run() took it */
    RV_LOG(rc == 0 ? RV_LOG_INFO : RV_LOG_ERROR, "shutdown_complete",
           RV_KV_INT("exit_code", rc));
    goto out;
nomem:
    fprintf(stderr, "config: out of memory\n");
    rc = EXIT_FATAL;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    devbroker_topics_fini(&topics);
    rv_cfg_fini(sections, section_count, &kafka);
    return rc;
}
