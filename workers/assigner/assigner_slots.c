/* workers/assigner/assigner_slots.c: candidate slots for a booking. */
#include "assigner_slots.h"

#include <string.h>

#include "rv/hash.h"

/* Days looked at beyond the due window's start: a due window longer than
 * this many local days is cut (a month covers every rule of DESIGN §2's
 * phone visits). */
#define SCAN_DAYS_MAX 62
/* Agents considered per pool. */
#define AGENTS_MAX 256

/* R8: the part of @p a's day that @p task may fill; priority tasks may
 * fill it all, the others leave the policy's reserve free for them. */
static int64_t task_capacity(const rv_policy *p, const rv_task *task,
                             const rv_agent *a)
{
    const rv_booking_policy *bp = &p->booking;
    if (task->priority >= bp->high_priority_min) {
        return a->daily_capacity;
    }
    return a->daily_capacity * (100 - bp->priority_reserve_percent) / 100;
}

/* The agents who may take @p task's visit (pool, capacity, R3). */
static size_t eligible_agents(const rv_policy *p, const rv_task *task,
                              const rv_rule *rule, const char *pool,
                              const rv_agent **out, size_t cap)
{
    bool independent = rule != NULL && rule->independent;
    size_t n = 0;
    for (unsigned i = 0; i < p->agent_count && n < cap; i++) {
        const rv_agent *a = &p->agents[i];
        if (strcmp(rv_agent_pool(a), pool) != 0 || a->daily_capacity <= 0 ||
            !rv_agent_has_channel(a, rv_channel_name(task->channel))) {
            continue;
        }
        if (independent && (strcmp(a->id, task->salesperson_id) == 0 ||
                            strcmp(a->branch, task->branch_id) == 0)) {
            continue; /* R3: never the salesperson, nor their branch */
        }
        out[n++] = a;
    }
    return n;
}

static int windows_on(const rv_policy *p, int weekday)
{
    int n = 0;
    for (unsigned w = 0; w < p->window_count; w++) {
        if (!(p->windows[w].skip_mask & (1u << weekday))) {
            n++;
        }
    }
    return n;
}

size_t assigner_slots(const rv_policy *p, const rv_calendar *cal,
                      const rv_task *task, assigner_slot *out, size_t cap,
                      const char **pool, char *why, size_t why_size)
{
    const rv_rule *rule = rv_policy_rule(p, task->rule_id);
    *pool = rv_rule_pool(rule, task->branch_id);
    int branch = rv_calendar_branch(cal, task->branch_id);
    if (branch < 0) {
        rv_errf(why, why_size, "branch %s is not in policy %s", task->branch_id,
                p->version);
        return 0;
    }
    const rv_agent *agents[AGENTS_MAX];
    size_t agent_count =
        eligible_agents(p, task, rule, *pool, agents, AGENTS_MAX);
    if (agent_count == 0) {
        if (rule != NULL && rule->independent) {
            rv_errf(why, why_size,
                    "pool %s has no independent agent with capacity (R3)",
                    *pool);
        } else {
            rv_errf(why, why_size, "pool %s has no agent with capacity", *pool);
        }
        return 0;
    }
    const char *parts[] = {task->task_id, "agents"};
    size_t rot = (size_t)(rv_hash_u64(2, parts) % agent_count);
    int64_t from = task->due_start_us;
    if (task->not_before_us > from) {
        from = task->not_before_us;
    }
    int64_t day = rv_calendar_local_day(cal, branch, from);
    int64_t last = rv_calendar_local_day(cal, branch, task->due_end_us - 1);
    if (last > day + SCAN_DAYS_MAX) {
        last = day + SCAN_DAYS_MAX;
    }
    size_t n = 0;
    for (; day <= last && n < cap; day++) {
        if (!rv_calendar_is_working_day(cal, branch, day)) {
            continue;
        }
        int weekday = rv_calendar_weekday(day);
        int per_day = windows_on(p, weekday);
        for (unsigned w = 0; w < p->window_count && n < cap; w++) {
            const rv_window *win = &p->windows[w];
            if (win->skip_mask & (1u << weekday)) {
                continue;
            }
            int64_t ws =
                rv_calendar_local_to_us(cal, branch, day, win->start_min);
            int64_t we =
                rv_calendar_local_to_us(cal, branch, day, win->end_min);
            if (ws < from || we > task->due_end_us) {
                continue;
            }
            for (size_t a = 0; a < agent_count && n < cap; a++) {
                const rv_agent *ag = agents[(rot + a) % agent_count];
                if (!(ag->day_mask & (1u << weekday))) {
                    continue; /* not the agent's working day */
                }
                int64_t day_cap = task_capacity(p, task, ag);
                int64_t per_window = (day_cap + per_day - 1) / per_day;
                out[n++] = (assigner_slot){.agent = ag,
                                           .day = day,
                                           .window = (int)w,
                                           .start_us = ws,
                                           .end_us = we,
                                           .day_capacity = day_cap,
                                           .window_capacity = per_window};
            }
        }
    }
    if (n == 0) {
        rv_errf(why, why_size,
                "no call window inside the due window of task %s",
                task->task_id);
    }
    return n;
}

bool assigner_task_ok(const rv_policy *p, const rv_task *task, char *why,
                      size_t why_size)
{
    if ((int64_t)task->attempt > p->grading.max_phone_attempts) {
        rv_errf(why, why_size,
                "task %s: attempt %u beyond grading.max_phone_attempts %lld "
                "(C2)",
                task->task_id, task->attempt,
                (long long)p->grading.max_phone_attempts);
        return false;
    }
    return true;
}
