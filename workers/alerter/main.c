/* workers/alerter/main.c: visits.grades -> compliance.alerts (A1). */
#include <stdlib.h>
#include <string.h>

#include "alerter_rules.h"
#include "rv/codec.h"
#include "rv/log.h"
#include "rv/textnorm.h"
#include "rv/worker.h"

#define TOPIC_GRADES "visits.grades"
#define TOPIC_ALERTS "compliance.alerts"

typedef struct alerter_ctx {
    rv_worker *w;
    rv_textnorm *tn;
    alerter_keyword *keywords; /* every compliance keyword, normalised */
    size_t keyword_count;
    rv_grade grade;
    char notes[RV_NOTES_SIZE * 2];
    rv_alert alerts[RV_ANSWERS_MAX];
} alerter_ctx;

static rv_err alerter_init(rv_worker *w, void **out)
{
    alerter_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RV_ERR_NOMEM;
    }
    *out = c;
    c->w = w;
    char errstr[256] = "";
    rv_err err = rv_textnorm_open(&c->tn, errstr, sizeof(errstr));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "textnorm_open_failed",
               RV_KV_STR("reason", errstr));
        return err;
    }
    const rv_policy *p = w->policy;
    size_t total = 0;
    for (unsigned i = 0; i < p->question_count; i++) {
        total += p->questions[i].keyword_count;
    }
    c->keywords = calloc(total > 0 ? total : 1, sizeof(*c->keywords));
    if (c->keywords == NULL) {
        return RV_ERR_NOMEM;
    }
    for (unsigned i = 0; i < p->question_count; i++) {
        const rv_question *q = &p->questions[i];
        for (unsigned k = 0; k < q->keyword_count; k++) {
            alerter_keyword *kw = &c->keywords[c->keyword_count++];
            kw->question = q;
            err = rv_textnorm_apply(c->tn, q->keywords[k], kw->text,
                                    sizeof(kw->text));
            if (err != RV_OK) {
                return err;
            }
        }
    }
    return RV_OK;
}

static void alerter_fini(void *ctx)
{
    alerter_ctx *c = ctx;
    if (c == NULL) {
        return;
    }
    rv_textnorm_close(c->tn);
    free(c->keywords);
    free(c);
}

static rv_err alerter_batch(void *ctx, const rv_msg *msgs, size_t count,
                            rv_producer *kp)
{
    alerter_ctx *c = ctx;
    rv_err err = RV_OK;
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        if (rv_codec_decode_grade(msgs[i].payload, msgs[i].len, &c->grade,
                                  errstr, sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
            continue;
        }
        const char *notes = NULL;
        if (c->grade.notes[0] != '\0' &&
            rv_textnorm_apply(c->tn, c->grade.notes, c->notes,
                              sizeof(c->notes)) == RV_OK) {
            notes = c->notes;
        }
        size_t n = alerter_findings(c->w->policy, c->w->cal, &c->grade, notes,
                                    c->keywords, c->keyword_count, c->alerts,
                                    RV_ANSWERS_MAX);
        for (size_t a = 0; a < n && err == RV_OK; a++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            err = rv_codec_encode_alert(&c->alerts[a], &buf, &len);
            if (err == RV_OK) {
                err =
                    rv_producer_send(kp, TOPIC_ALERTS, c->alerts[a].customer_id,
                                     buf, len, NULL, 0);
                free(buf);
            }
            RV_LOG(RV_LOG_INFO, "alert_raised",
                   RV_KV_STR("alert_id", c->alerts[a].alert_id),
                   RV_KV_STR("kind", c->alerts[a].kind),
                   RV_KV_BOOL("suspected", c->alerts[a].suspected),
                   RV_KV_STR("branch", c->alerts[a].branch_id));
        }
    }
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "alerter",
        .default_group = "revisit-alerter",
        .default_topics = TOPIC_GRADES,
        .needs_policy = true,
    };
    return rv_worker_main(argc, argv, &spec, alerter_init, alerter_batch,
                          alerter_fini);
}
