/* workers/devbroker/devbroker_topics.c: strict parser of the topic list. */
#include "devbroker_topics.h"

#include <stdlib.h>
#include <string.h>

/* One entry of the list as a [begin, end) slice of the spec. */
struct slice {
    const char *p;
    size_t len;
};

static struct slice trim_slice(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    return (struct slice){.p = p, .len = len};
}

static int is_topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Kafka rejects "." and ".." as names; everything else legal is fine. */
static int is_valid_name(struct slice name)
{
    if (name.len == 0 || (name.len == 1 && name.p[0] == '.') ||
        (name.len == 2 && name.p[0] == '.' && name.p[1] == '.')) {
        return 0;
    }
    for (size_t i = 0; i < name.len; i++) {
        if (!is_topic_char(name.p[i])) {
            return 0;
        }
    }
    return 1;
}

/* Digits only, no sign, 1..DEVBROKER_PARTITIONS_MAX. Returns 0 if bad. */
static int parse_partitions(struct slice num)
{
    if (num.len == 0 || num.len > 4) {
        return 0;
    }
    int v = 0;
    for (size_t i = 0; i < num.len; i++) {
        if (num.p[i] < '0' || num.p[i] > '9') {
            return 0;
        }
        v = v * 10 + (num.p[i] - '0');
    }
    if (v < 1 || v > DEVBROKER_PARTITIONS_MAX) {
        return 0;
    }
    return v;
}

static int has_name(const devbroker_topic *items, size_t count,
                    const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(items[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Appends one topic; the caller sized items for every entry and twin. */
static rv_err add_topic(devbroker_topic *items, size_t *count,
                        struct slice name, const char *suffix, int partitions,
                        char *errstr, size_t errstr_size)
{
    size_t suffix_len = strlen(suffix);
    if (name.len + suffix_len > DEVBROKER_TOPIC_NAME_MAX) {
        rv_errf(errstr, errstr_size,
                "topic \"%.*s%s\": %zu characters exceeds limit %d",
                (int)name.len, name.p, suffix, name.len + suffix_len,
                DEVBROKER_TOPIC_NAME_MAX);
        return RV_ERR_INVALID;
    }
    devbroker_topic *t = &items[*count];
    memcpy(t->name, name.p, name.len);
    memcpy(t->name + name.len, suffix, suffix_len + 1);
    if (has_name(items, *count, t->name)) {
        rv_errf(errstr, errstr_size, "topic \"%s\" is listed twice", t->name);
        return RV_ERR_INVALID;
    }
    t->partitions = partitions;
    (*count)++;
    return RV_OK;
}

rv_err devbroker_topics_parse(const char *spec, int with_dlq,
                              devbroker_topics *out, char *errstr,
                              size_t errstr_size)
{
    rv_err err = RV_ERR_INVALID;
    devbroker_topic *items = NULL;
    size_t count = 0;

    if (spec == NULL || trim_slice(spec, strlen(spec)).len == 0) {
        rv_errf(errstr, errstr_size, "topic list is empty");
        goto out;
    }
    size_t entries = 1;
    for (const char *p = spec; *p != '\0'; p++) {
        entries += *p == ',';
    }
    if (entries > DEVBROKER_TOPICS_MAX) {
        rv_errf(errstr, errstr_size, "topic list: %zu entries exceeds limit %d",
                entries, DEVBROKER_TOPICS_MAX);
        goto out;
    }
    size_t cap = with_dlq ? entries * 2 : entries;
    items = calloc(cap, sizeof(*items));
    if (items == NULL) {
        err = RV_ERR_NOMEM;
        goto out;
    }

    const char *p = spec;
    for (size_t e = 0; e < entries; e++) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        struct slice entry = trim_slice(p, len);
        const char *colon = memchr(entry.p, ':', entry.len);
        if (colon == NULL) {
            rv_errf(errstr, errstr_size,
                    "topic entry %zu \"%.*s\": expected name:partitions", e + 1,
                    (int)entry.len, entry.p);
            goto out;
        }
        struct slice name = trim_slice(entry.p, (size_t)(colon - entry.p));
        struct slice num =
            trim_slice(colon + 1, entry.len - (size_t)(colon - entry.p) - 1);
        if (!is_valid_name(name)) {
            rv_errf(errstr, errstr_size,
                    "topic entry %zu \"%.*s\": name must be 1..%d of "
                    "[A-Za-z0-9._-]",
                    e + 1, (int)entry.len, entry.p, DEVBROKER_TOPIC_NAME_MAX);
            goto out;
        }
        int partitions = parse_partitions(num);
        if (partitions == 0) {
            rv_errf(errstr, errstr_size,
                    "topic entry %zu \"%.*s\": partitions must be 1..%d", e + 1,
                    (int)entry.len, entry.p, DEVBROKER_PARTITIONS_MAX);
            goto out;
        }
        err =
            add_topic(items, &count, name, "", partitions, errstr, errstr_size);
        if (err == RV_OK && with_dlq) {
            err = add_topic(items, &count, name, DEVBROKER_DLQ_SUFFIX,
                            partitions, errstr, errstr_size);
        }
        if (err != RV_OK) {
            goto out;
        }
        err = RV_ERR_INVALID; /* the next entry must earn RV_OK again */
        p = comma != NULL ? comma + 1 : p + len;
    }

    out->count = count;
    out->items = items;
    items = NULL;
    err = RV_OK;
out:
    free(items);
    return err;
}

void devbroker_topics_fini(devbroker_topics *t)
{
    if (t == NULL) {
        return;
    }
    free(t->items);
    *t = (devbroker_topics){0};
}
