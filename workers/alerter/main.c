/* workers/alerter/main.c: visits.grades -> compliance.alerts (A1). */
#include <stdlib.h>

#include "alerter_rules.h"
#include "rv/codec.h"
#include "rv/log.h"
#include "rv/worker.h"

#define TOPIC_GRADES "visits.grades"
#define TOPIC_ALERTS "compliance.alerts"

static rv_err alerter_batch(void *ctx, const rv_msg *msgs, size_t count,
                            rv_producer *kp)
{
    rv_worker *w = ctx;
    rv_alert alerts[RV_ANSWERS_MAX];
    rv_err err = RV_OK;
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        rv_grade g;
        if (rv_codec_decode_grade(msgs[i].payload, msgs[i].len, &g, errstr,
                                  sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(w, kp, &msgs[i], errstr);
            continue;
        }
        size_t n = alerter_findings(w->policy, &g, alerts, RV_ANSWERS_MAX);
        for (size_t a = 0; a < n && err == RV_OK; a++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            err = rv_codec_encode_alert(&alerts[a], &buf, &len);
            if (err == RV_OK) {
                err = rv_producer_send(kp, TOPIC_ALERTS, alerts[a].customer_id,
                                       buf, len, NULL, 0);
                free(buf);
            }
            RV_LOG(RV_LOG_INFO, "alert_raised",
                   RV_KV_STR("alert_id", alerts[a].alert_id),
                   RV_KV_STR("kind", alerts[a].kind),
                   RV_KV_STR("branch", alerts[a].branch_id));
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
    return rv_worker_main(argc, argv, &spec, NULL, alerter_batch, NULL);
}
