/* workers/devbroker/devbroker_control.c: parser of the fault commands. */
#include "devbroker_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>

#define WORDS_MAX 5
#define LINE_MAX_LEN 256

/* The requests a chaos run makes fail: Kafka's API keys. */
static const struct {
    const char *name;
    int16_t key;
} apis[] = {
    {"Produce", 0},          {"Fetch", 1},        {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8}, {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},   {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},   {"InitProducerId", 22},
};

int16_t devbroker_ctl_api_key(const char *name)
{
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
        if (strcasecmp(apis[i].name, name) == 0) {
            return apis[i].key;
        }
    }
    return -1;
}

/* Whole decimal number in [lo, hi]; 0 if not. */
static int parse_num(const char *s, long lo, long hi, long *out)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) ||
        strlen(s) > 9) {
        return 0;
    }
    long v = strtol(s, NULL, 10);
    if (v < lo || v > hi) {
        return 0;
    }
    *out = v;
    return 1;
}

/* librdkafka's code of broker error @p name, or 0 if none. */
static int err_code_of(const char *name)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t n = 0;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name != NULL && descs[i].code > 0 &&
            strcasecmp(descs[i].name, name) == 0) {
            return descs[i].code;
        }
    }
    return 0;
}

rv_err devbroker_ctl_parse(const char *line, devbroker_ctl *out, char *errstr,
                           size_t errstr_size)
{
    char buf[LINE_MAX_LEN];
    if (strlen(line) >= sizeof(buf)) {
        rv_errf(errstr, errstr_size, "line longer than %d bytes",
                LINE_MAX_LEN - 1);
        return RV_ERR_INVALID;
    }
    memcpy(buf, line, strlen(line) + 1);
    char *words[WORDS_MAX + 1] = {0};
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\r\n", &save); w != NULL;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == WORDS_MAX) {
            rv_errf(errstr, errstr_size, "too many words");
            return RV_ERR_INVALID;
        }
        words[n++] = w;
    }
    devbroker_ctl c = {.kind = DEVBROKER_CTL_SKIP};
    if (n == 0 || words[0][0] == '#') {
        *out = c;
        return RV_OK;
    }
    const char *cmd = words[0];
    long v = 0;
    int want = 0;
    if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
        c.kind = cmd[0] == 'd' ? DEVBROKER_CTL_DOWN : DEVBROKER_CTL_UP;
        want = 2;
    } else if (strcmp(cmd, "rtt") == 0) {
        c.kind = DEVBROKER_CTL_RTT;
        want = 3;
    } else if (strcmp(cmd, "errors") == 0) {
        c.kind = DEVBROKER_CTL_ERRORS;
        want = 4;
    } else if (strcmp(cmd, "coordinator") == 0) {
        c.kind = DEVBROKER_CTL_COORDINATOR;
        want = 3;
    } else {
        rv_errf(errstr, errstr_size,
                "unknown command \"%s\" (down, up, rtt, errors, "
                "coordinator)",
                cmd);
        return RV_ERR_INVALID;
    }
    if (n != want) {
        rv_errf(errstr, errstr_size, "%s takes %d argument%s, got %d", cmd,
                want - 1, want == 2 ? "" : "s", n - 1);
        return RV_ERR_INVALID;
    }
    if (c.kind == DEVBROKER_CTL_COORDINATOR) {
        size_t len = strlen(words[1]);
        if (len >= sizeof(c.group) ||
            strspn(words[1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789._-") != len) {
            rv_errf(errstr, errstr_size,
                    "group \"%s\" is not a group id ([A-Za-z0-9._-], at most "
                    "249)",
                    words[1]);
            return RV_ERR_INVALID;
        }
        memcpy(c.group, words[1], len + 1);
        if (!parse_num(words[2], 1, DEVBROKER_CTL_BROKER_MAX, &v)) {
            rv_errf(errstr, errstr_size, "broker \"%s\" is not 1..%d", words[2],
                    DEVBROKER_CTL_BROKER_MAX);
            return RV_ERR_INVALID;
        }
        c.broker_id = (int32_t)v;
        *out = c;
        return RV_OK;
    }
    if (c.kind != DEVBROKER_CTL_ERRORS) {
        if (!parse_num(words[1], 1, DEVBROKER_CTL_BROKER_MAX, &v)) {
            rv_errf(errstr, errstr_size, "broker \"%s\" is not 1..%d", words[1],
                    DEVBROKER_CTL_BROKER_MAX);
            return RV_ERR_INVALID;
        }
        c.broker_id = (int32_t)v;
        if (c.kind == DEVBROKER_CTL_RTT) {
            if (!parse_num(words[2], 0, DEVBROKER_CTL_RTT_MAX_MS, &v)) {
                rv_errf(errstr, errstr_size, "rtt \"%s\" is not 0..%d ms",
                        words[2], DEVBROKER_CTL_RTT_MAX_MS);
                return RV_ERR_INVALID;
            }
            c.rtt_ms = (int)v;
        }
        *out = c;
        return RV_OK;
    }
    c.api_key = devbroker_ctl_api_key(words[1]);
    if (c.api_key < 0) {
        rv_errf(errstr, errstr_size, "unknown request \"%s\"", words[1]);
        return RV_ERR_INVALID;
    }
    if (!parse_num(words[2], 1, DEVBROKER_CTL_COUNT_MAX, &v)) {
        rv_errf(errstr, errstr_size, "count \"%s\" is not 1..%d", words[2],
                DEVBROKER_CTL_COUNT_MAX);
        return RV_ERR_INVALID;
    }
    c.count = (int)v;
    c.err_code = err_code_of(words[3]);
    if (c.err_code == 0) {
        rv_errf(errstr, errstr_size, "unknown broker error \"%s\"", words[3]);
        return RV_ERR_INVALID;
    }
    *out = c;
    return RV_OK;
}
