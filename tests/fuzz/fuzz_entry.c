/* tests/fuzz/fuzz_entry.c: see fuzz_entry.h. */
#include "fuzz_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_superstore.h"
#include "rv/calendar.h"
#include "rv/codec.h"
#include "rv/policy.h"

#define DECODER_COUNT 10

void rv_fuzz_decoders(const uint8_t *data, size_t len)
{
    if (len == 0) {
        return;
    }
    unsigned which = data[0] % DECODER_COUNT;
    const uint8_t *buf = data + 1;
    size_t n = len - 1;
    char errstr[256];
    /* One record of each kind: the decoders write only on RV_OK, and the
     * records hold no pointers, so nothing needs freeing. */
    rv_sale sale;
    rv_work_order work_order;
    rv_task task;
    rv_assignment assignment;
    rv_outcome outcome;
    rv_grade grade;
    rv_alert alert;
    rv_decision decision;
    rv_case_event case_event;
    rv_err err = RV_OK;
    switch (which) {
    case 0:
        err = rv_codec_decode_sale(buf, n, &sale, errstr, sizeof(errstr));
        break;
    case 1:
        err = rv_codec_decode_work_order(buf, n, &work_order, errstr,
                                         sizeof(errstr));
        break;
    case 2:
        err = rv_codec_decode_task(buf, n, &task, errstr, sizeof(errstr));
        break;
    case 3:
        err = rv_codec_decode_assignment(buf, n, &assignment, errstr,
                                         sizeof(errstr));
        break;
    case 4:
        err = rv_codec_decode_outcome(buf, n, &outcome, errstr, sizeof(errstr));
        break;
    case 5:
        err = rv_codec_decode_grade(buf, n, &grade, errstr, sizeof(errstr));
        break;
    case 6:
        err = rv_codec_decode_alert(buf, n, &alert, errstr, sizeof(errstr));
        break;
    case 7: {
        err =
            rv_codec_decode_decision(buf, n, &decision, errstr, sizeof(errstr));
        /* and as a message of several (issue 8) */
        rv_decision *many = malloc(RV_CODEC_DECISIONS_MAX * sizeof(*many));
        size_t count = 0;
        if (many != NULL) {
            err =
                rv_codec_decode_decisions(buf, n, many, RV_CODEC_DECISIONS_MAX,
                                          &count, errstr, sizeof(errstr));
        }
        free(many);
        break;
    }
    case 8:
        err = rv_codec_decode_case_event(buf, n, &case_event, errstr,
                                         sizeof(errstr));
        break;
    default: {
        char *hex = malloc(n + 1);
        if (hex == NULL) {
            return;
        }
        memcpy(hex, buf, n);
        hex[n] = '\0';
        err = rv_codec_decode_task_hex(hex, &task, errstr, sizeof(errstr));
        free(hex);
        break;
    }
    }
    (void)err;
}

/* The bytes in a new temporary file; *path (PATH_SIZE bytes) names it.
 * @returns 0, or -1 if it could not be written */
#define PATH_SIZE 64
static int write_temp(const uint8_t *data, size_t len, char *path)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, PATH_SIZE, "%.40s/rv-fuzz-XXXXXX",
             dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t)w;
    }
    close(fd);
    return 0;
}

void rv_fuzz_csv(const uint8_t *data, size_t len)
{
    char path[PATH_SIZE];
    if (write_temp(data, len, path) != 0) {
        return;
    }
    import_result res = {0};
    char errstr[256];
    if (import_superstore_read(path, &res, errstr, sizeof(errstr)) == RV_OK) {
        for (size_t i = 0; i < res.order_count; i++) {
            rv_sale sale;
            rv_work_order work_order;
            if (import_order_to_sale(&res.orders[i], &sale) == RV_OK) {
                (void)import_order_work_order(&res.orders[i], &sale,
                                              &work_order);
            }
        }
        import_result_fini(&res);
    }
    unlink(path);
}

void rv_fuzz_policy(const uint8_t *data, size_t len)
{
    char path[PATH_SIZE];
    if (write_temp(data, len, path) != 0) {
        return;
    }
    rv_policy *p = NULL;
    char errstr[256];
    if (rv_policy_load(path, &p, errstr, sizeof(errstr)) == RV_OK) {
        rv_calendar *cal = NULL;
        if (rv_calendar_new(p, &cal, errstr, sizeof(errstr)) == RV_OK) {
            rv_calendar_free(cal);
        }
        rv_policy_free(p);
    }
    unlink(path);
}
