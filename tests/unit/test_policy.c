#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rv/policy.h"

static void default_path(char *out, size_t size)
{
    const char *src = getenv("RV_SOURCE_DIR");
    assert_non_null(src);
    snprintf(out, size, "%s/deploy/policy/default.yaml", src);
}

static rv_policy *load_default(void)
{
    char path[1024];
    default_path(path, sizeof(path));
    rv_policy *p = NULL;
    char errstr[512] = "";
    rv_err err = rv_policy_load(path, &p, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("%s", errstr);
    }
    return p;
}

/* The default policy's text with the first @p from replaced by @p to. */
static char *default_text_with(const char *from, const char *to)
{
    char path[1024];
    default_path(path, sizeof(path));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    char *at = strstr(text, from);
    if (at == NULL) {
        free(text);
        fail_msg("\"%s\" is not in default.yaml", from);
    }
    size_t out_len = (size_t)len - strlen(from) + strlen(to);
    char *out = malloc(out_len + 1);
    assert_non_null(out);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    memcpy(out + head, to, strlen(to));
    strcpy(out + head + strlen(to), at + strlen(from));
    free(text);
    return out;
}

/* Writes @p text (freed here) into a new file named from @p path, a
 * mkstemp template. */
static void write_temp(char *path, char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    free(text);
}

/* Load a variant of the default policy; expect RV_ERR_INVALID with an
 * errstr containing @p expect. */
static void expect_invalid(const char *from, const char *to, const char *expect)
{
    char path[] = "/tmp/rv_policy_XXXXXX";
    write_temp(path, default_text_with(from, to));
    rv_policy *p = NULL;
    char errstr[512] = "";
    rv_err err = rv_policy_load(path, &p, errstr, sizeof(errstr));
    unlink(path);
    assert_int_equal(err, RV_ERR_INVALID);
    assert_null(p);
    if (strstr(errstr, expect) == NULL) {
        fail_msg("errstr \"%s\" lacks \"%s\"", errstr, expect);
    }
    assert_non_null(strstr(errstr, path)); /* names the file */
}

static void test_policy_default_header(void **state)
{
    (void)state;
    rv_policy *p = load_default();
    assert_string_equal(p->version, "2025.1");
    assert_true(strlen(p->salt) > 0);
    assert_int_equal(p->cooldown_days, 7);              /* C4 */
    assert_int_equal(p->grading.max_phone_attempts, 2); /* C2 */
    assert_int_equal(p->grading.satisfied_min, 4);      /* G2 */
    assert_int_equal(p->grading.dissatisfied_max, 2);
    rv_policy_free(p);
    rv_policy_free(NULL);
}

static void test_policy_default_r1_tiers(void **state)
{
    (void)state;
    rv_policy *p = load_default();
    const rv_rule *r1 = rv_policy_rule(p, "R1");
    assert_non_null(r1);
    assert_true(rv_rule_has_trigger(r1, "sale"));
    assert_false(rv_rule_has_trigger(r1, "complaint"));
    assert_int_equal(r1->tier_count, 4);
    assert_string_equal(r1->channel, "phone");
    assert_int_equal(r1->due.delay_working_days, 1);
    assert_int_equal(r1->due.length_working_days, 5);
    assert_int_equal(r1->due.within_hours, 0);
    /* Seed 001 §四: 1500-2999 / 3000-4999 / >= 5000, rates rising. */
    const struct {
        int64_t cents;
        double rate;
    } cases[] = {
        {0, 0.05},      {149999, 0.05}, {150000, 0.20}, {299999, 0.20},
        {300000, 0.30}, {499999, 0.30}, {500000, 0.50}, {INT64_MAX, 0.50},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const rv_tier *t = rv_rule_tier(r1, cases[i].cents);
        assert_non_null(t);
        assert_float_equal(t->rate, cases[i].rate, 1e-12);
    }
    assert_null(rv_rule_tier(r1, -1));
    assert_int_equal(r1->tiers[3].max_cents, -1);
    rv_policy_free(p);
}

static void test_policy_default_r5_and_questions(void **state)
{
    (void)state;
    rv_policy *p = load_default();
    const rv_rule *r5 = rv_policy_rule(p, "R5");
    assert_non_null(r5);
    assert_true(rv_rule_has_trigger(r5, "complaint"));
    assert_true(rv_rule_has_trigger(r5, "repair"));
    assert_int_equal(r5->tier_count, 0);
    assert_float_equal(r5->rate, 1.0, 0.0);
    assert_int_equal(r5->due.within_hours, 72);
    assert_true(r5->priority > rv_policy_rule(p, "R1")->priority);
    assert_null(rv_policy_rule(p, "R99"));
    /* C3: at most 3 questions, each defined. */
    for (unsigned i = 0; i < p->rule_count; i++) {
        assert_true(p->rules[i].question_count <= 3);
        for (unsigned j = 0; j < p->rules[i].question_count; j++) {
            assert_non_null(rv_policy_question(p, p->rules[i].questions[j]));
        }
    }
    const rv_question *q = rv_policy_question(p, "q.satisfaction");
    assert_non_null(q);
    assert_string_equal(q->kind, "satisfaction");
    assert_null(q->alert);
    /* A1, A2: compliance questions raise major alerts for the director. */
    const char *a1[] = {"a1.password_known", "a1.operated_account",
                        "a1.profit_sharing", "a1.loss_compensation"};
    for (size_t i = 0; i < 4; i++) {
        q = rv_policy_question(p, a1[i]);
        assert_non_null(q);
        assert_string_equal(q->kind, "compliance");
        assert_string_equal(q->severity, "major");
        assert_string_equal(q->route_to, "branch_operations_director");
        assert_int_equal(strncmp(q->alert, "A1.", 3), 0);
    }
    rv_policy_free(p);
}

static void test_policy_default_call_windows(void **state)
{
    (void)state;
    rv_policy *p = load_default();
    /* C1 (seed 001 §六): 10:00-11:30 not Monday morning, 14:00-16:30. */
    assert_int_equal(p->window_count, 2);
    assert_int_equal(p->windows[0].start_min, 600);
    assert_int_equal(p->windows[0].end_min, 690);
    assert_int_equal(p->windows[0].skip_mask, 1u << 0);
    assert_int_equal(p->windows[1].start_min, 840);
    assert_int_equal(p->windows[1].end_min, 990);
    assert_int_equal(p->windows[1].skip_mask, 0);
    rv_policy_free(p);
}

static void test_policy_default_roster(void **state)
{
    (void)state;
    rv_policy *p = load_default();
    assert_int_equal(p->branch_count, 4);
    const rv_branch *west = rv_policy_branch(p, "West");
    assert_non_null(west);
    assert_string_equal(west->tz, "America/Los_Angeles");
    assert_string_equal(west->calendar, "us-federal");
    assert_string_equal(rv_policy_branch(p, "South")->tz, "America/New_York");
    assert_null(rv_policy_branch(p, "North"));
    /* 16 agents and 2 quality supervisors (R10, pool "quality"). */
    assert_int_equal(p->agent_count, 18);
    for (unsigned i = 0; i < p->agent_count; i++) {
        bool supervisor = p->agents[i].pool != NULL &&
                          strcmp(p->agents[i].pool, "quality") == 0;
        assert_int_equal(p->agents[i].daily_capacity,
                         supervisor ? 20 : 30); /* C5 */
        assert_non_null(rv_policy_branch(p, p->agents[i].branch));
    }
    assert_int_equal(p->spot_checks.per_agent_month, 3);
    assert_non_null(rv_policy_rule(p, p->spot_checks.rule));
    assert_int_equal(p->calendar_count, 2);
    assert_int_equal(p->calendars[0].holiday_count, 44);
    rv_policy_free(p);
}

/* R10: the spot-check rule must exist and be triggered by spot checks. */
static void test_policy_rejects_spot_checks_without_rule(void **state)
{
    (void)state;
    expect_invalid("  rule: R10\n", "  rule: R5\n",
                   "spot_checks.rule \"R5\" is not a rule with trigger "
                   "spot_check");
    expect_invalid("per_agent_month: 3", "per_agent_month: 101",
                   "spot_checks per_agent_month 101");
}

/* Issue 3: an invalid policy names the bad field and its line. */
static void test_policy_error_names_the_line(void **state)
{
    (void)state;
    /* The line of R1's second tier in the shipped file. */
    char *text = default_text_with("rate: 0.20}", "rate: 0.20}");
    const char *at = strstr(text, "rate: 0.20}");
    assert_non_null(at);
    int line = 1;
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    free(text);
    char want[96];
    snprintf(want, sizeof(want),
             "rules[R1].tiers[1].rate 1.5 is outside "
             "[0, 1] (line %d)",
             line);
    expect_invalid("rate: 0.20}", "rate: 1.5}", want);
    /* A rule found by its id, a field of a mapping. */
    expect_invalid("  rule: R10\n", "  rule: R5\n",
                   "spot_checks.rule \"R5\" is not a rule");
}

/* The line of the first @p needle in the default policy with @p from
 * replaced by @p to. */
static int line_in_variant(const char *from, const char *to, const char *needle)
{
    char *text = default_text_with(from, to);
    const char *at = strstr(text, needle);
    assert_non_null(at);
    int line = 1;
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    free(text);
    return line;
}

/* Tester finding 9: an unknown key is named by its path and its own
 * line; libcyaml's line was the previous value's (one line up, or more
 * after a comment). */
static void test_policy_unknown_key_names_its_line(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *needle, *path;
    } cases[] = {
        /* top level, after a comment */
        {"cooldown_days: 7", "cooldown_dayz: 7", "cooldown_dayz",
         "cooldown_dayz"},
        /* a rule's field, found by the rule's id */
        {"    priority: 10\n", "    priorty: 10\n", "priorty",
         "rules[R5].priorty"},
        /* a key added after the last field of a rule's mapping */
        {"    priority: 10\n", "    priority: 10\n    extra_key: 1\n",
         "extra_key", "rules[R5].extra_key"},
        /* inside a flow mapping of a sequence */
        {"{id: w01, branch: West, daily_capacity: 30}",
         "{id: w01, branch: West, daily_capacty: 30}", "daily_capacty",
         "agents[w01].daily_capacty"},
        /* two sequences deep: a tier of R1 */
        {"max_cents: 300000, rate: 0.20}",
         "max_cents: 300000, rate: 0.20,\n         rat: 1}", "rat: 1",
         "rules[R1].tiers[1].rat"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int line = line_in_variant(cases[i].from, cases[i].to, cases[i].needle);
        char want[160];
        snprintf(want, sizeof(want), "%s is an unknown key (line %d)",
                 cases[i].path, line);
        expect_invalid(cases[i].from, cases[i].to, want);
    }
}

/* A missing required field is named in its own mapping: libcyaml's
 * backtrace pointed at the mapping's last field ("version; in mapping
 * field 'agents' (line 527)"). */
static void test_policy_missing_field_names_its_mapping(void **state)
{
    (void)state;
    expect_invalid("version: \"2025.1\"\n", "",
                   "version is required at the top level");
    /* R1's reason: the mapping is the rule, found by its id. */
    const char *r1 = "  - id: R1\n";
    char want[160];
    snprintf(want, sizeof(want),
             "rules[R1].reason is required (the mapping at line %d)",
             line_in_variant(r1, r1, r1));
    expect_invalid("    reason: \"R1 post-sale", "    reasn: \"R1 post-sale",
                   "rules[R1].reasn is an unknown key");
    expect_invalid("    reason: \"R1 post-sale satisfaction visit by amount "
                   "tier (seed 001 \xc2\xa7\xe5\x9b\x9b)\"\n",
                   "", want);
    /* A flow mapping two sequences deep: a tier without max_cents. */
    expect_invalid("{min_cents: 150000, max_cents: 300000, rate: 0.20}",
                   "{min_cents: 150000, rate: 0.20}",
                   "rules[R1].tiers[1].max_cents is required");
}

static void test_policy_rejects_rate_above_one(void **state)
{
    (void)state;
    expect_invalid("rate: 1.0", "rate: 1.5", "rules[R5].rate 1.5");
    expect_invalid("max_cents: 300000, rate: 0.20",
                   "max_cents: 300000, rate: -0.2", "tiers[1].rate -0.2");
}

static void test_policy_rejects_four_questions(void **state)
{
    (void)state;
    expect_invalid("questions: [q.satisfaction, q.delivery, q.product]",
                   "questions: [q.satisfaction, q.delivery, q.product, "
                   "a1.password_known]",
                   "rules[R1] has 4 questions, more than 3 (C3)");
    expect_invalid("questions: [q.satisfaction]", "questions: [q.nope]",
                   "\"q.nope\" is not a defined question");
}

static void test_policy_rejects_overlapping_tiers(void **state)
{
    (void)state;
    expect_invalid("{min_cents: 300000, max_cents: 500000",
                   "{min_cents: 250000, max_cents: 500000",
                   "tiers[2] starts at 250000 cents, inside tiers[1] "
                   "[150000, 300000)");
    expect_invalid("{min_cents: 500000, max_cents: -1",
                   "{min_cents: 500000, max_cents: 400000",
                   "max_cents 400000 is not above min_cents 500000");
}

static void test_policy_rejects_unknown_calendar(void **state)
{
    (void)state;
    expect_invalid("{id: South, tz: America/New_York, calendar: us-federal}",
                   "{id: South, tz: America/New_York, calendar: us-texas}",
                   "branches[South].calendar \"us-texas\" is not a defined "
                   "calendar");
    expect_invalid("{id: w01, branch: West", "{id: w01, branch: Westt",
                   "agents[w01].branch \"Westt\"");
}

static void test_policy_rejects_bad_hhmm(void **state)
{
    (void)state;
    expect_invalid("end: \"16:30\"", "end: \"16:3\"",
                   "call_windows[1].end \"16:3\" is not HH:MM");
    expect_invalid("start: \"14:00\"", "start: \"25:00\"",
                   "call_windows[1].start \"25:00\" is not HH:MM");
    expect_invalid("start: \"14:00\"", "start: \"11:00\"",
                   "call_windows[1] starts at 11:00, before call_windows[0] "
                   "ends at 11:30");
    expect_invalid("skip_weekdays: [mon]", "skip_weekdays: [monday]",
                   "skip_weekdays[0] \"monday\" is not mon..sun");
}

static void test_policy_rejects_other_mistakes(void **state)
{
    (void)state;
    /* libcyaml's own errors: unknown key, wrong type, broken YAML. */
    expect_invalid("cooldown_days: 7", "cooldown_dayz: 7",
                   "cooldown_dayz is an unknown key");
    expect_invalid("cooldown_days: 7", "cooldown_days: soon", "cooldown_days");
    expect_invalid("cooldown_days: 7", "cooldown_days: [7", "cooldown");
    expect_invalid("- \"2016-07-04\"", "- \"2016-07-40\"",
                   "calendars[us-federal].holidays[");
    expect_invalid("triggers: [sale]", "triggers: [sales]",
                   "\"sales\" is not sale");
    expect_invalid("due: {within_hours: 72}", "due: {within_hours: 0}",
                   "rules[R5].due.length_working_days 0");
    expect_invalid("satisfied_min: 4", "satisfied_min: 2",
                   "grading.dissatisfied_max 2");
    expect_invalid("- id: R5", "- id: R1", "].id \"R1\" repeats rules[0]");
}

/* libcyaml 1.3 alone would read these as 30, 8 and 0.2. */
static void test_policy_rejects_sloppy_numbers(void **state)
{
    (void)state;
    expect_invalid("{id: w01, branch: West, daily_capacity: 30}",
                   "{id: w01, branch: West, daily_capacity: 30 a day}",
                   "agents[w01].daily_capacity \"30 a day\" is not a plain "
                   "decimal integer");
    expect_invalid("priority: 10", "priority: 010",
                   "rules[R5].priority \"010\" is not a plain decimal");
    expect_invalid("max_cents: 300000, rate: 0.20",
                   "max_cents: 300000, rate: 0.2O",
                   "rules[R1].tiers[1].rate \"0.2O\" is not a decimal "
                   "number");
    expect_invalid("due: {within_hours: 72}", "due: {within_hours: 0x48}",
                   "rules[R5].due.within_hours \"0x48\"");
}

/* The digest: SHA-256 of the file's bytes, as `sha256sum` prints it;
 * the same file gives the same digest, a one-byte change (here a
 * comment) another. */
static void test_policy_digest(void **state)
{
    (void)state;
    char path[1024], cmd[1200], want[RV_POLICY_DIGEST_SIZE] = "";
    default_path(path, sizeof(path));
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    FILE *sh = popen(cmd, "r");
    assert_non_null(sh);
    assert_int_equal(fscanf(sh, "%64s", want), 1);
    pclose(sh);
    rv_policy *a = load_default();
    rv_policy *b = load_default();
    assert_string_equal(a->digest, want);
    assert_string_equal(b->digest, a->digest);
    char tmp[] = "/tmp/rv_policy_XXXXXX";
    write_temp(tmp, default_text_with("\nversion:", "\n# a comment\nversion:"));
    rv_policy *c = NULL;
    char errstr[512] = "";
    assert_int_equal(rv_policy_load(tmp, &c, errstr, sizeof(errstr)), RV_OK);
    unlink(tmp);
    assert_string_equal(c->version, a->version);
    assert_int_equal(strlen(c->digest), 64);
    assert_string_not_equal(c->digest, a->digest);
    rv_policy_free(a);
    rv_policy_free(b);
    rv_policy_free(c);
}

static void test_policy_missing_file(void **state)
{
    (void)state;
    rv_policy *p = NULL;
    char errstr[256] = "";
    assert_int_equal(
        rv_policy_load("/nonexistent/policy.yaml", &p, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_null(p);
    assert_non_null(strstr(errstr, "/nonexistent/policy.yaml"));
    assert_int_equal(rv_policy_load("/nonexistent/policy.yaml", &p, NULL, 0),
                     RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_default_header),
        cmocka_unit_test(test_policy_digest),
        cmocka_unit_test(test_policy_default_r1_tiers),
        cmocka_unit_test(test_policy_default_r5_and_questions),
        cmocka_unit_test(test_policy_default_call_windows),
        cmocka_unit_test(test_policy_default_roster),
        cmocka_unit_test(test_policy_rejects_rate_above_one),
        cmocka_unit_test(test_policy_error_names_the_line),
        cmocka_unit_test(test_policy_unknown_key_names_its_line),
        cmocka_unit_test(test_policy_missing_field_names_its_mapping),
        cmocka_unit_test(test_policy_rejects_spot_checks_without_rule),
        cmocka_unit_test(test_policy_rejects_four_questions),
        cmocka_unit_test(test_policy_rejects_overlapping_tiers),
        cmocka_unit_test(test_policy_rejects_unknown_calendar),
        cmocka_unit_test(test_policy_rejects_bad_hhmm),
        cmocka_unit_test(test_policy_rejects_other_mistakes),
        cmocka_unit_test(test_policy_rejects_sloppy_numbers),
        cmocka_unit_test(test_policy_missing_file),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
