/* common/cfg.c: defaults, then a "key = value" file, then RV_* env. */
#include "rv/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CFG_LINE_MAX 4096

static const rv_cfg_key *find_key(const rv_cfg_section *sections,
                                  size_t section_count, const char *name,
                                  void **base)
{
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name != NULL; k++) {
            if (strcmp(k->name, name) == 0) {
                *base = sections[s].base;
                return k;
            }
        }
    }
    return NULL;
}

static rv_err set_value(const rv_cfg_key *k, void *base, const char *value,
                        const char *source)
{
    char *field = (char *)base + k->offset;
    switch (k->type) {
    case RV_CFG_STR: {
        char *copy = strdup(value);
        if (copy == NULL) {
            return RV_ERR_NOMEM;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = copy;
        return RV_OK;
    }
    case RV_CFG_INT: {
        errno = 0;
        char *end = NULL;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            fprintf(stderr, "config: %s: %s: \"%s\" is not an integer\n",
                    source, k->name, value);
            return RV_ERR_INVALID;
        }
        if (v < k->min || v > k->max) {
            fprintf(stderr,
                    "config: %s: %s: %lld is outside [%" PRId64 ", %" PRId64
                    "]\n",
                    source, k->name, v, k->min, k->max);
            return RV_ERR_INVALID;
        }
        int64_t iv = (int64_t)v;
        memcpy(field, &iv, sizeof(iv));
        return RV_OK;
    }
    case RV_CFG_BOOL: {
        bool b;
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            b = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            b = false;
        } else {
            fprintf(stderr, "config: %s: %s: \"%s\" is not true/false\n",
                    source, k->name, value);
            return RV_ERR_INVALID;
        }
        memcpy(field, &b, sizeof(b));
        return RV_OK;
    }
    }
    return RV_ERR_INVALID;
}

static rv_err props_set(rv_props *p, const char *name, const char *value)
{
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->names[i], name) == 0) {
            char *v = strdup(value);
            if (v == NULL) {
                return RV_ERR_NOMEM;
            }
            free(p->values[i]);
            p->values[i] = v;
            return RV_OK;
        }
    }
    char **names = realloc(p->names, (p->count + 1) * sizeof(*names));
    if (names == NULL) {
        return RV_ERR_NOMEM;
    }
    p->names = names;
    char **values = realloc(p->values, (p->count + 1) * sizeof(*values));
    if (values == NULL) {
        return RV_ERR_NOMEM;
    }
    p->values = values;
    p->names[p->count] = strdup(name);
    p->values[p->count] = strdup(value);
    if (p->names[p->count] == NULL || p->values[p->count] == NULL) {
        free(p->names[p->count]);
        free(p->values[p->count]);
        return RV_ERR_NOMEM;
    }
    p->count++;
    return RV_OK;
}

/* Applies one key/value from any source; unknown keys are an error. */
static rv_err apply(const rv_cfg_section *sections, size_t section_count,
                    rv_props *kafka, const char *name, const char *value,
                    const char *source, bool *seen, size_t seen_count)
{
    void *base = NULL;
    const rv_cfg_key *k = find_key(sections, section_count, name, &base);
    if (k != NULL) {
        size_t idx = 0;
        for (size_t s = 0; s < section_count; s++) {
            for (const rv_cfg_key *q = sections[s].keys; q->name; q++) {
                if (q == k && idx < seen_count) {
                    seen[idx] = true;
                }
                idx++;
            }
        }
        return set_value(k, base, value, source);
    }
    if (kafka != NULL && strncmp(name, "kafka.", 6) == 0 && name[6] != '\0') {
        return props_set(kafka, name + 6, value);
    }
    fprintf(stderr, "config: %s: unknown key \"%s\"\n", source, name);
    return RV_ERR_INVALID;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

static rv_err load_file(const rv_cfg_section *sections, size_t section_count,
                        rv_props *kafka, const char *path, bool *seen,
                        size_t seen_count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "config: %s: cannot open: %s\n", path, strerror(errno));
        return RV_ERR_INVALID;
    }
    rv_err worst = RV_OK;
    char line[CFG_LINE_MAX];
    int lineno = 0;
    /* fopen opens a directory for reading on Linux; fgets then fails with
     * EISDIR, which ends the loop as end of file would: a file read as
     * empty, the defaults taken. ferror tells the two apart. */
    errno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char source[512];
        snprintf(source, sizeof(source), "%s:%d", path, lineno);
        char *s = trim(line);
        if (*s == '\0' || *s == '#') {
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            fprintf(stderr, "config: %s: expected \"key = value\"\n", source);
            worst = RV_ERR_INVALID;
            continue;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        rv_err err = apply(sections, section_count, kafka, name, value, source,
                           seen, seen_count);
        if (err == RV_ERR_NOMEM) {
            fclose(f);
            return err;
        }
        if (err != RV_OK) {
            worst = err;
        }
    }
    if (ferror(f)) {
        int saved = errno;
        fprintf(stderr, "config: %s: cannot read: %s\n", path,
                strerror(saved != 0 ? saved : EIO));
        worst = RV_ERR_INVALID;
    }
    fclose(f);
    return worst;
}

/* RV_KAFKA_BOOTSTRAP_SERVERS -> kafka.bootstrap.servers */
static void env_to_key(const char *env, size_t len, char *out, size_t cap)
{
    size_t i = 0;
    for (; i < len && i + 1 < cap; i++) {
        char c = env[i];
        out[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
    }
    out[i] = '\0';
}

static void key_to_env(const char *key, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "RV_");
    for (const char *p = key; *p && n + 1 < cap; p++) {
        out[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    }
    out[n] = '\0';
}

extern char **environ;

static rv_err load_env(const rv_cfg_section *sections, size_t section_count,
                       rv_props *kafka, bool *seen, size_t seen_count)
{
    rv_err worst = RV_OK;
    /* Table keys first: their names may hold '_' that env can't show. */
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++) {
            char env[256];
            key_to_env(k->name, env, sizeof(env));
            const char *v = getenv(env);
            if (v == NULL) {
                continue;
            }
            rv_err err = apply(sections, section_count, kafka, k->name, v, env,
                               seen, seen_count);
            if (err == RV_ERR_NOMEM) {
                return err;
            }
            if (err != RV_OK) {
                worst = err;
            }
        }
    }
    for (char **e = environ; kafka != NULL && *e != NULL; e++) {
        if (strncmp(*e, "RV_KAFKA_", 9) != 0) {
            continue;
        }
        const char *eq = strchr(*e, '=');
        if (eq == NULL) {
            continue;
        }
        char key[256];
        env_to_key(*e + 3, (size_t)(eq - (*e + 3)), key, sizeof(key));
        void *base = NULL;
        if (find_key(sections, section_count, key, &base) != NULL) {
            continue; /* a table key, handled above */
        }
        rv_err err = props_set(kafka, key + 6, eq + 1);
        if (err != RV_OK) {
            return err;
        }
    }
    return worst;
}

static size_t key_count(const rv_cfg_section *sections, size_t section_count)
{
    size_t n = 0;
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++) {
            n++;
        }
    }
    return n;
}

rv_err rv_cfg_load(const rv_cfg_section *sections, size_t section_count,
                   const char *path, rv_props *kafka)
{
    rv_err worst = RV_OK;
    size_t n = key_count(sections, section_count);
    bool *seen = calloc(n + 1, sizeof(*seen));
    if (seen == NULL) {
        return RV_ERR_NOMEM;
    }
    size_t idx = 0;
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++, idx++) {
            if (k->def == NULL) {
                continue;
            }
            seen[idx] = true;
            rv_err err = set_value(k, sections[s].base, k->def, "default");
            if (err != RV_OK) {
                free(seen);
                return err == RV_ERR_NOMEM ? err : RV_ERR_INVALID;
            }
        }
    }
    if (path != NULL) {
        rv_err err = load_file(sections, section_count, kafka, path, seen, n);
        if (err == RV_ERR_NOMEM) {
            free(seen);
            return err;
        }
        if (err != RV_OK) {
            worst = err;
        }
    }
    rv_err err = load_env(sections, section_count, kafka, seen, n);
    if (err == RV_ERR_NOMEM) {
        free(seen);
        return err;
    }
    if (err != RV_OK) {
        worst = err;
    }
    idx = 0;
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++, idx++) {
            if ((k->flags & RV_CFG_REQUIRED) && !seen[idx]) {
                char env[256];
                key_to_env(k->name, env, sizeof(env));
                fprintf(stderr,
                        "config: %s is required (set it in the file or "
                        "%s)\n",
                        k->name, env);
                worst = RV_ERR_INVALID;
            }
        }
    }
    free(seen);
    return worst;
}

void rv_cfg_fini(const rv_cfg_section *sections, size_t section_count,
                 rv_props *kafka)
{
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++) {
            if (k->type == RV_CFG_STR) {
                char **slot =
                    (char **)(void *)((char *)sections[s].base + k->offset);
                free(*slot);
                *slot = NULL;
            }
        }
    }
    if (kafka != NULL) {
        for (size_t i = 0; i < kafka->count; i++) {
            free(kafka->names[i]);
            free(kafka->values[i]);
        }
        free(kafka->names);
        free(kafka->values);
        *kafka = (rv_props){0};
    }
}

void rv_cfg_print(const rv_cfg_section *sections, size_t section_count,
                  const rv_props *kafka, FILE *out)
{
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++) {
            const char *field = (const char *)sections[s].base + k->offset;
            if (k->flags & RV_CFG_SECRET) {
                fprintf(out, "%s = ***\n", k->name);
                continue;
            }
            switch (k->type) {
            case RV_CFG_STR: {
                const char *v = *(char *const *)(const void *)field;
                fprintf(out, "%s = %s\n", k->name, v ? v : "");
                break;
            }
            case RV_CFG_INT: {
                int64_t v;
                memcpy(&v, field, sizeof(v));
                fprintf(out, "%s = %" PRId64 "\n", k->name, v);
                break;
            }
            case RV_CFG_BOOL: {
                bool v;
                memcpy(&v, field, sizeof(v));
                fprintf(out, "%s = %s\n", k->name, v ? "true" : "false");
                break;
            }
            }
        }
    }
    for (size_t i = 0; kafka != NULL && i < kafka->count; i++) {
        bool secret = strstr(kafka->names[i], "password") != NULL ||
                      strstr(kafka->names[i], "secret") != NULL;
        fprintf(out, "kafka.%s = %s\n", kafka->names[i],
                secret ? "***" : kafka->values[i]);
    }
}

void rv_cfg_help(const rv_cfg_section *sections, size_t section_count,
                 FILE *out)
{
    fprintf(out, "Configuration keys (file \"key = value\", or env "
                 "RV_<KEY> with '.' -> '_'):\n");
    for (size_t s = 0; s < section_count; s++) {
        for (const rv_cfg_key *k = sections[s].keys; k->name; k++) {
            const char *type = k->type == RV_CFG_STR   ? "string"
                               : k->type == RV_CFG_INT ? "int"
                                                       : "bool";
            fprintf(out, "  %-32s %-6s %s%s%s\n      %s\n", k->name, type,
                    k->def ? "default " : "", k->def ? k->def : "",
                    (k->flags & RV_CFG_REQUIRED) ? "required" : "", k->help);
        }
    }
    fprintf(out, "  kafka.*                          any librdkafka "
                 "property, passed unchanged\n");
}

rv_err rv_cli_parse(int argc, char **argv, rv_cli *out)
{
    rv_cli cli = {.config_path = getenv("RV_CONFIG")};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 >= argc) {
            fprintf(stderr, "%s: \"-c\" needs a value (try --help)\n", argv[0]);
            return RV_ERR_INVALID;
        } else if (strcmp(argv[i], "-c") == 0) {
            cli.config_path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            cli.help = true;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            cli.check_config = true;
        } else {
            fprintf(stderr, "%s: unknown argument \"%s\" (try --help)\n",
                    argv[0], argv[i]);
            return RV_ERR_INVALID;
        }
    }
    *out = cli;
    return RV_OK;
}
