/* workers/grader/main.c: visits.outcomes -> visits.grades, and
 * visits.retries for a second phone attempt (C2). */
#include <stdlib.h>
#include <string.h>

#include "grader_rules.h"
#include "rv/codec.h"
#include "rv/log.h"
#include "rv/worker.h"

#define TOPIC_OUTCOMES "visits.outcomes"
#define TOPIC_GRADES "visits.grades"
#define TOPIC_RETRIES "visits.retries"

static rv_err send_grade(rv_producer *kp, const rv_grade *g)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_grade(g, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_GRADES, g->customer_id, buf, len, NULL,
                               0);
        free(buf);
    }
    return err;
}

static rv_err send_retry(rv_producer *kp, const rv_task *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_task(t, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_RETRIES, t->customer_id, buf, len,
                               NULL, 0);
        free(buf);
    }
    return err;
}

static rv_err grader_batch(void *ctx, const rv_msg *msgs, size_t count,
                           rv_producer *kp)
{
    rv_worker *w = ctx;
    rv_outcome *o = malloc(sizeof(*o));
    rv_task *retry = malloc(sizeof(*retry));
    rv_err err = o != NULL && retry != NULL ? RV_OK : RV_ERR_NOMEM;
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        if (rv_codec_decode_outcome(msgs[i].payload, msgs[i].len, o, errstr,
                                    sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(w, kp, &msgs[i], errstr);
            continue;
        }
        rv_grade g;
        bool has_retry = false;
        grader_grade(w->policy, o, &g, retry, &has_retry);
        err = send_grade(kp, &g);
        if (err == RV_OK && has_retry) {
            err = send_retry(kp, retry);
        }
    }
    free(o);
    free(retry);
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "grader",
        .default_group = "revisit-grader",
        .default_topics = TOPIC_OUTCOMES,
        .needs_policy = true,
    };
    return rv_worker_main(argc, argv, &spec, NULL, grader_batch, NULL);
}
