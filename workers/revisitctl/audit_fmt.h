/* workers/revisitctl/audit_fmt.h: the pure half of `revisitctl replay
 * report` (issue 7): Markdown cells, the fence around a quoted text, and
 * one alert's lineage as a table row. No I/O beyond the FILE the caller
 * passes. */
#ifndef RV_AUDIT_FMT_H
#define RV_AUDIT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** Write @p s (NUL-terminated) as the text of one Markdown table cell:
 *  '|' and '\' escaped with '\', CR and LF as spaces. */
void audit_md_cell(FILE *out, const char *s);

/** Backticks of a code fence that can quote @p text: one more than its
 *  longest run of backticks, at least 3, at most @p size - 1, into
 *  @p out (NUL-terminated). */
void audit_md_fence(const char *text, char *out, size_t size);

/** One link of an alert's chain through the record. */
typedef enum audit_hop_state {
    AUDIT_HOP_FOUND = 1, /**< the row named is in the record */
    AUDIT_HOP_MISSING,   /**< named (or required) but not in the record */
    AUDIT_HOP_NONE,      /**< not part of this alert's chain */
} audit_hop_state;

typedef struct audit_hop {
    audit_hop_state state;
    const char *id; /**< the ID the row before names; "" if none */
    bool caused;    /**< the row before has this row's event as its
                         causation_id */
} audit_hop;

/**
 * An alert's lineage: alert -> grade (grade_id) -> outcome (outcome_id)
 * -> assignment (assignment_id) -> task (task_id) -> the business event
 * (visit_tasks.source_event_id). An escalation follows the alert it
 * escalates (its causation_id); an alert the assigner raised (no grade)
 * starts at its assignment, grade and outcome AUDIT_HOP_NONE. Strings
 * borrowed, NUL-terminated.
 */
typedef struct audit_lineage {
    const char *alert_id;
    const char *kind;
    const char *escalates; /**< the escalated alert's ID, or "" */
    audit_hop grade, outcome, assignment, task;
    const char *source_kind; /**< "sale", "work_order", "outcome" (R10
                                  spot check), "draw" (R2), "" unknown */
    audit_hop source;
} audit_lineage;

/** True if every hop of @p l is found or not part of its chain. */
bool audit_lineage_complete(const audit_lineage *l);

/**
 * Write @p l as one row of the lineage table, with its LF:
 * "| `alert` | kind | `grade` (c) | `outcome` (c) | `assignment` (c) |
 * `task` (c) | sale `event` (c) | complete |". A found hop is its ID in
 * backticks, "(c)" added when the row before names it as causation; a
 * missing one "`id` missing" (or "missing"); one not in the chain, or
 * past the first missing one, "—".
 * An escalation's alert cell adds "escalates `id`". The last cell is
 * "complete", or "broken: <hop> missing" naming the first missing hop.
 */
void audit_lineage_row(FILE *out, const audit_lineage *l);

#endif /* RV_AUDIT_FMT_H */
