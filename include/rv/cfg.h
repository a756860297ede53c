/* include/rv/cfg.h: table-driven configuration (defaults < file < env). */
#ifndef RV_CFG_H
#define RV_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rv/err.h"

/** Exit code for configuration errors (sysexits EX_CONFIG). */
#define RV_CFG_EXIT_CONFIG 78
/** Exit code for a command line the program does not take (sysexits
 *  EX_USAGE): an unknown argument, -c without a path. */
#define RV_CFG_EXIT_USAGE 64

typedef enum rv_cfg_type {
    RV_CFG_STR,  /**< stored as char * (owned by the struct, rv_cfg_fini) */
    RV_CFG_INT,  /**< stored as int64_t, checked against [min, max] */
    RV_CFG_BOOL, /**< stored as bool; "true"/"false"/"1"/"0" */
} rv_cfg_type;

enum {
    RV_CFG_REQUIRED = 1 << 0, /**< no default: must come from file or env */
    RV_CFG_SECRET = 1 << 1,   /**< printed as *** */
    RV_CFG_RELOAD = 1 << 2,   /**< SIGHUP may change it */
};

/** One configuration key: name, type, where it lives in the struct. */
typedef struct rv_cfg_key {
    const char *name; /**< dotted lowercase, e.g. "sampler.batch.max" */
    rv_cfg_type type;
    size_t offset;    /**< offsetof() into the section's struct */
    const char *def;  /**< default as text, NULL for none */
    int64_t min, max; /**< range for RV_CFG_INT */
    unsigned flags;   /**< RV_CFG_REQUIRED | RV_CFG_SECRET | ... */
    const char *help;
} rv_cfg_key;

/** A key table and the struct it fills. The table ends with {0}. */
typedef struct rv_cfg_section {
    const rv_cfg_key *keys;
    void *base;
} rv_cfg_section;

/** Free-form "kafka.*" properties, passed unchanged to librdkafka
 *  (without the "kafka." prefix). Owned strings. */
typedef struct rv_props {
    size_t count;
    char **names;
    char **values;
} rv_props;

/**
 * Receives one problem a configuration check found (--check-config).
 * @param arg  the caller's, passed through
 * @param key  the configuration key it concerns, e.g. "redis.url" or
 *             "kafka.acks"; NUL-terminated, borrowed for the call
 * @param why  one sentence naming the value's fault and the limit, never
 *             quoting a secret; NUL-terminated, borrowed for the call
 */
typedef void (*rv_cfg_report_fn)(void *arg, const char *key, const char *why);

/**
 * Load every section: defaults, then the file at @p path (may be NULL;
 * lines "key = value", '#' comments), then environment variables
 * (RV_ + key upper-cased with '.' -> '_'). Keys starting with "kafka."
 * that no table names go to @p kafka (may be NULL to reject them).
 * Every problem is reported to stderr with its source ("file:12" or the
 * variable's name); the whole input is checked before returning.
 *
 * @returns RV_OK, RV_ERR_INVALID (one or more problems, reported),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_cfg_load(const rv_cfg_section *sections,
                                size_t section_count, const char *path,
                                rv_props *kafka);

/** Free the strings rv_cfg_load stored in each section, and @p kafka's. */
void rv_cfg_fini(const rv_cfg_section *sections, size_t section_count,
                 rv_props *kafka);

/** Print "key = value" for every key, secrets as ***, to @p out. */
void rv_cfg_print(const rv_cfg_section *sections, size_t section_count,
                  const rv_props *kafka, FILE *out);

/** Print the key reference (name, type, default, help) to @p out. */
void rv_cfg_help(const rv_cfg_section *sections, size_t section_count,
                 FILE *out);

/** What the command line asked for. */
typedef struct rv_cli {
    const char *config_path; /**< -c PATH, else $RV_CONFIG, else NULL */
    bool help;               /**< --help */
    bool check_config;       /**< --check-config */
} rv_cli;

/** Parse a worker's argv (-c PATH, --help, --check-config).
 *  @returns RV_OK or RV_ERR_INVALID (unknown argument, printed). */
RV_MUSTCHECK rv_err rv_cli_parse(int argc, char **argv, rv_cli *out);

#endif /* RV_CFG_H */
