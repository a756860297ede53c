/* workers/revisitctl/cmd_import.c: `revisitctl import`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_args.h"
#include "import_superstore.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/log.h"

#define FILE_MAX_BYTES (512L * 1024 * 1024)
/* --limit: more orders than a file of FILE_MAX_BYTES holds, and few
 * enough for produce_all's int count. */
#define LIMIT_MAX 100000000

/* SHA-256 of the file at @p path, into @p hex. */
static int file_sha256(const char *path, char hex[RV_SHA256_HEX_SIZE])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        size = ftell(f);
    }
    if (size >= 0 && size <= FILE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
    }
    int rc = -1;
    if (buf != NULL && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        rv_sha256_hex(buf, (size_t)size, hex);
        rc = 0;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Sends one encoded message, waiting for room in the queue. */
static rv_err send_one(rv_producer *kp, const char *topic, const char *key,
                       const uint8_t *buf, size_t len)
{
    rv_err err;
    while ((err = rv_producer_send(kp, topic, key, buf, len, NULL, 0)) ==
           RV_ERR_FULL) {
        err = rv_producer_flush(kp, 10000);
        if (err != RV_OK) {
            break;
        }
    }
    return err;
}

/* The synthetic work order of order @p i, if it has one (R5). */
static rv_err produce_work_order(const import_order *o, const rv_sale *sale,
                                 const char *topic, rv_producer *kp,
                                 size_t *count)
{
    rv_work_order wo;
    if (topic == NULL || !import_order_work_order(o, sale, &wo)) {
        return RV_OK;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_work_order(&wo, &buf, &len);
    if (err == RV_OK) {
        err = send_one(kp, topic, wo.customer_id, buf, len);
    }
    free(buf);
    *count += err == RV_OK;
    return err;
}

static int produce_all(const import_result *res, size_t limit,
                       const char *topic, const char *wo_topic, rv_producer *kp,
                       size_t *work_orders)
{
    size_t sent = 0;
    for (size_t i = 0; i < res->order_count && sent < limit; i++) {
        rv_sale sale;
        if (import_order_to_sale(&res->orders[i], &sale) != RV_OK) {
            fprintf(stderr, "import: order %s: bad date\n",
                    res->orders[i].order_id);
            continue;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        rv_err err = rv_codec_encode_sale(&sale, &buf, &len);
        if (err == RV_OK) {
            err = send_one(kp, topic, sale.customer_id, buf, len);
        }
        free(buf);
        if (err == RV_OK) {
            err = produce_work_order(&res->orders[i], &sale, wo_topic, kp,
                                     work_orders);
        }
        if (err != RV_OK) {
            fprintf(stderr, "import: send failed: %s\n", rv_err_str(err));
            return -1;
        }
        sent++;
    }
    rv_err err = rv_producer_flush(kp, 60000);
    if (err != RV_OK) {
        fprintf(stderr, "import: delivery failed: %s\n", rv_err_str(err));
        return -1;
    }
    return (int)sent;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl import --csv PATH [--sha256 HEX] [--limit N]\n"
            "                         [--topic T] [--work-order-topic T | "
            "--no-work-orders]\n"
            "  the Superstore orders sample: one SaleEvent per order to T "
            "(default\n"
            "  sales.events), its synthetic work orders to service.events; "
            "the first N\n"
            "  orders only (1..%d) with --limit; refused unless the file "
            "has SHA-256 HEX\n"
            "  exit status: 0, 64 bad arguments, 65 bad file or checksum, "
            "66 unreadable,\n"
            "  69 Kafka failed, 78 configuration\n",
            LIMIT_MAX);
}

int rv_ctl_import(int argc, char **argv)
{
    const char *csv = NULL, *want_sha = NULL, *topic = "sales.events";
    const char *wo_topic = "service.events";
    uint64_t limit = LIMIT_MAX;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--csv") == 0) {
            err = ctl_arg_value(argc, argv, &i, &csv, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--sha256") == 0) {
            err = ctl_arg_value(argc, argv, &i, &want_sha, errstr,
                                sizeof(errstr));
        } else if (strcmp(argv[i], "--topic") == 0) {
            err = ctl_arg_value(argc, argv, &i, &topic, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--work-order-topic") == 0) {
            err = ctl_arg_value(argc, argv, &i, &wo_topic, errstr,
                                sizeof(errstr));
        } else if (strcmp(argv[i], "--no-work-orders") == 0) {
            wo_topic = NULL;
        } else if (strcmp(argv[i], "--limit") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, LIMIT_MAX, &limit, errstr,
                              sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "import: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (csv == NULL) {
        fprintf(stderr, "import: --csv PATH is required\n");
        usage(stderr);
        return CTL_EX_USAGE;
    }
    char sha[RV_SHA256_HEX_SIZE];
    if (file_sha256(csv, sha) != 0) {
        fprintf(stderr, "import: cannot read %s\n", csv);
        return 66;
    }
    if (want_sha != NULL && strcmp(sha, want_sha) != 0) {
        fprintf(stderr, "import: %s has SHA-256 %s, expected %s\n", csv, sha,
                want_sha);
        return 65;
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    char errstr[512] = "";
    import_result res = {0};
    rv_producer *kp = NULL;
    int code = 0;
    if (import_superstore_read(csv, &res, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "%s\n", errstr);
        code = 65;
    } else if (rv_producer_open(&kafka, "revisitctl", &kp, errstr,
                                sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "import: %s\n", errstr);
        code = 69;
    } else {
        size_t work_orders = 0;
        int sent =
            produce_all(&res, (size_t)limit, topic, wo_topic, kp, &work_orders);
        if (sent < 0) {
            code = 69;
        } else {
            printf("import: orders=%d lines=%zu rejected=%zu work_orders=%zu "
                   "sha256=%s\n",
                   sent, res.line_count, res.rejected_count, work_orders, sha);
        }
    }
    rv_producer_close(kp, 10000);
    import_result_fini(&res);
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}
