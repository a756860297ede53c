/* tests/unit/test_replay_diff.c: replay verify's comparison (issue 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay_diff.h"

static void add(replay_rows *l, const char *id, const char *fp)
{
    assert_int_equal(replay_rows_add(l, id, fp), RV_OK);
}

/* Each class of difference, listed in ID order whatever the input order;
 * a duplicate ID counts once. */
static void test_replay_diff_classifies_and_lists(void **state)
{
    (void)state;
    replay_rows replayed = {0}, recorded = {0};
    add(&replayed, "d", "R1|selected");
    add(&replayed, "a", "R1|not_selected");
    add(&replayed, "b", "R1|selected");
    add(&replayed, "b", "R1|selected"); /* re-delivered */
    add(&replayed, "c", "R5|selected");
    add(&recorded, "c", "R5|selected");
    add(&recorded, "b", "R1|not_selected");
    add(&recorded, "a", "R1|not_selected");
    add(&recorded, "e", "R1|selected");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    replay_counts c = replay_diff(&replayed, &recorded, "decisions", out);
    fclose(out);
    assert_int_equal(c.matched, 2);   /* a, c */
    assert_int_equal(c.missing, 1);   /* d */
    assert_int_equal(c.extra, 1);     /* e */
    assert_int_equal(c.differing, 1); /* b */
    assert_string_equal(
        text, "decisions: matched=2 missing=1 extra=1 differing=1\n"
              "  differing b replay=R1|selected record=R1|not_selected\n"
              "  missing d R1|selected\n"
              "  extra e R1|selected\n");
    free(text);
    /* Counts only. */
    c = replay_diff(&replayed, &recorded, "decisions", NULL);
    assert_int_equal(c.matched + c.missing + c.extra + c.differing, 5);
    replay_rows_fini(&replayed);
    replay_rows_fini(&recorded);
    /* Both empty: nothing to say but the counts. */
    text = NULL;
    out = open_memstream(&text, &size);
    replay_diff(&replayed, &recorded, "alerts", out);
    fclose(out);
    assert_string_equal(text,
                        "alerts: matched=0 missing=0 extra=0 differing=0\n");
    free(text);
}

/* Of an ID's rows the first added stands for it, however many rows and
 * duplicates the sort has to move (a re-imported sale's later "not
 * selected" must never stand for the first "selected"). */
static void test_replay_diff_first_row_of_an_id_wins(void **state)
{
    (void)state;
    replay_rows replayed = {0}, recorded = {0};
    char id[32];
    /* IDs in a scrambled order, each first "first" and later "later",
     * the later rows interleaved with other IDs' first ones. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            int k = (i * 7919) % 2000;
            snprintf(id, sizeof(id), "id%04d", k);
            add(&replayed, id, round == 0 ? "first" : "later");
            if (round == 0) {
                add(&recorded, id, "first");
            }
        }
    }
    replay_counts c = replay_diff(&replayed, &recorded, "decisions", NULL);
    assert_int_equal(c.matched, 2000);
    assert_int_equal(c.differing, 0);
    assert_int_equal(c.missing + c.extra, 0);
    replay_rows_fini(&replayed);
    replay_rows_fini(&recorded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_diff_classifies_and_lists),
        cmocka_unit_test(test_replay_diff_first_row_of_an_id_wins),
    };
    return cmocka_run_group_tests_name("replay_diff", tests, NULL, NULL);
}
