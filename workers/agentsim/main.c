/* workers/agentsim/main.c: plays the agents for demos and tests:
 * visits.assignments -> visits.outcomes, seeded and deterministic. */
#include <stdlib.h>

#include "agentsim_model.h"
#include "rv/codec.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/worker.h"

#define TOPIC_ASSIGNMENTS "visits.assignments"
#define TOPIC_OUTCOMES "visits.outcomes"

typedef struct agentsim_cfg {
    char *seed;
} agentsim_cfg;

static agentsim_cfg sim_cfg; /* filled by rv_worker_main's config load */

#define F(m) offsetof(agentsim_cfg, m)
static const rv_cfg_key agentsim_keys[] = {
    {"agentsim.seed", RV_CFG_STR, F(seed), "revisit-demo", 0, 0, 0,
     "seed of the simulated agents' answers"},
    {0},
};
#undef F

static rv_err agentsim_batch(void *ctx, const rv_msg *msgs, size_t count,
                             rv_producer *kp)
{
    rv_worker *w = ctx;
    rv_outcome outcome;
    rv_err err = RV_OK;
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        rv_assignment a;
        if (rv_codec_decode_assignment(msgs[i].payload, msgs[i].len, &a, errstr,
                                       sizeof(errstr)) != RV_OK ||
            rv_keying_check(&msgs[i],
                            &(rv_key_values){.customer_id = a.customer_id},
                            errstr, sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(w, kp, &msgs[i], errstr);
            continue;
        }
        if (a.status != RV_ASSIGNED) {
            continue; /* nobody to call: the record keeps the reason */
        }
        agentsim_call(w->policy, sim_cfg.seed, &a, &outcome);
        uint8_t *buf = NULL;
        size_t len = 0;
        err = rv_codec_encode_outcome(&outcome, &buf, &len);
        if (err == RV_OK) {
            err = rv_producer_send(kp, TOPIC_OUTCOMES, outcome.customer_id, buf,
                                   len, NULL, 0);
            free(buf);
        }
    }
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "agentsim",
        .default_group = "revisit-agentsim",
        .default_topics = TOPIC_ASSIGNMENTS,
        .needs_policy = true,
        .extra_keys = agentsim_keys,
        .extra_base = &sim_cfg,
    };
    return rv_worker_main(argc, argv, &spec, NULL, agentsim_batch, NULL);
}
