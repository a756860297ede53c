#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "generate.h"
#include "rv/calendar.h"
#include "rv/codec.h"

#define SALES 20000

static gen_params params(uint64_t seed)
{
    gen_params p = {.seed = seed,
                    .per_day = GEN_PER_DAY_DEFAULT,
                    .customers = SALES / GEN_ORDERS_PER_CUSTOMER};
    assert_int_equal(rv_calendar_day_parse("2014-01-01", &p.start_day), RV_OK);
    assert_int_equal(gen_params_check(&p), RV_OK);
    return p;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_generate_same_seed_same_sales(void **state)
{
    (void)state;
    gen_params p = params(42), q = params(42), other = params(43);
    rv_sale a, b, c;
    size_t differ = 0;
    for (uint64_t i = 0; i < 2000; i++) {
        gen_sale(&p, i, NULL, &a);
        gen_sale(&q, i, NULL, &b);
        assert_memory_equal(&a, &b, sizeof(a));
        gen_sale(&other, i, NULL, &c);
        differ += a.amount_cents != c.amount_cents;
    }
    /* Another seed, other sales (amounts collide only by chance). */
    assert_true(differ > 1900);
    /* Sale i does not depend on the sales drawn before it. */
    gen_sale(&p, 1234, NULL, &a);
    gen_sale(&p, 7, NULL, &b);
    gen_sale(&p, 1234, NULL, &b);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_string_equal(a.order_id, "S42-O000001234");
    assert_int_equal(strlen(a.env.event_id), RV_ID_SIZE - 1);
    assert_int_equal(a.env.produced_at_us, 0);
}

static void test_generate_fields_are_valid(void **state)
{
    (void)state;
    gen_params p = params(1);
    rv_sale s;
    int64_t prev = 0;
    for (uint64_t i = 0; i < SALES; i++) {
        gen_sale(&p, i, NULL, &s);
        assert_true(s.env.occurred_at_us >= prev);
        prev = s.env.occurred_at_us;
        /* A day's sales run from 13:00 UTC to 01:00 the next day. */
        int64_t day = (s.env.occurred_at_us / 1000000 - 13 * 3600) / 86400;
        assert_int_equal(day, p.start_day + (int64_t)(i / p.per_day));
        assert_true(s.amount_cents >= 50 && s.amount_cents <= 2500000);
        assert_true(s.line_count >= 1 && s.line_count <= 14);
        assert_true(s.phone_synthetic);
        assert_int_equal(strlen(s.phone), 10);
        assert_memory_equal(s.phone, "555", 3);
        assert_string_equal(s.currency, "USD");
        assert_true(s.store_id[0] != '\0' && s.segment[0] != '\0');
        assert_false(s.new_customer); /* no seen set */
        assert_true(s.category_count >= 1 && s.category_count <= s.line_count &&
                    s.category_count <= 3);
        for (size_t c = 0; c < s.category_count; c++) {
            assert_true(strcmp(s.categories[c], "Office Supplies") == 0 ||
                        strcmp(s.categories[c], "Furniture") == 0 ||
                        strcmp(s.categories[c], "Technology") == 0);
        }
        assert_true(s.gift_cents >= 0 && s.gift_cents <= s.amount_cents);
        assert_int_equal(strlen(s.customer_class), 1);
        assert_true(s.customer_class[0] >= 'A' && s.customer_class[0] <= 'D');
        assert_true(strcmp(s.branch_id, "West") == 0 ||
                    strcmp(s.branch_id, "East") == 0 ||
                    strcmp(s.branch_id, "Central") == 0 ||
                    strcmp(s.branch_id, "South") == 0);
    }
    gen_params bad = p;
    bad.per_day = 0;
    assert_int_equal(gen_params_check(&bad), RV_ERR_INVALID);
    bad.per_day = GEN_PER_DAY_MAX + 1;
    assert_int_equal(gen_params_check(&bad), RV_ERR_INVALID);
    bad = p;
    bad.customers = 0;
    assert_int_equal(gen_params_check(&bad), RV_ERR_INVALID);
    bad = p;
    bad.start_day = -1;
    assert_int_equal(gen_params_check(&bad), RV_ERR_INVALID);
}

/* At the most sales a day, event time passes 100 us a sale from 13:00
 * UTC, still strictly increasing, and the day ends where the next one
 * starts. */
static void test_generate_most_per_day(void **state)
{
    (void)state;
    gen_params p = params(3);
    p.per_day = GEN_PER_DAY_MAX;
    assert_int_equal(gen_params_check(&p), RV_OK);
    rv_sale s;
    int64_t open_us = (p.start_day * 86400 + 13 * 3600) * 1000000LL;
    gen_sale(&p, 0, NULL, &s);
    assert_int_equal(s.env.occurred_at_us, open_us);
    gen_sale(&p, 1, NULL, &s);
    assert_int_equal(s.env.occurred_at_us, open_us + 100);
    gen_sale(&p, 10000, NULL, &s);
    assert_int_equal(s.env.occurred_at_us, open_us + 1000000);
    gen_sale(&p, GEN_PER_DAY_MAX - 1, NULL, &s);
    assert_int_equal(s.env.occurred_at_us,
                     open_us + 12 * 3600 * 1000000LL - 100);
    gen_sale(&p, GEN_PER_DAY_MAX, NULL, &s);
    assert_int_equal(s.env.occurred_at_us, open_us + 86400 * 1000000LL);
}

/* Every sale of a stream lies in the event times the pipeline takes
 * (rv/codec.h), or the stream is refused: a first day outside them, or a
 * count that runs past the end (the last day's sales run to 01:00). */
static void test_generate_stays_in_event_time_range(void **state)
{
    (void)state;
    gen_params p = params(9);
    int64_t first = 0, last = 0;
    assert_int_equal(rv_calendar_day_parse("1990-01-01", &first), RV_OK);
    assert_int_equal(rv_calendar_day_parse("2099-12-31", &last), RV_OK);
    p.start_day = first;
    assert_int_equal(gen_params_check(&p), RV_OK);
    rv_sale s;
    gen_sale(&p, 0, NULL, &s);
    assert_true(s.env.occurred_at_us >= RV_CODEC_MIN_TIME_US);
    p.start_day = first - 1;
    assert_int_equal(gen_params_check(&p), RV_ERR_INVALID);
    assert_int_equal(rv_calendar_day_parse("1970-01-01", &p.start_day), RV_OK);
    assert_int_equal(gen_params_check(&p), RV_ERR_INVALID);
    assert_int_equal(rv_calendar_day_parse("2200-01-01", &p.start_day), RV_OK);
    assert_int_equal(gen_params_check(&p), RV_ERR_INVALID);
    p.start_day = last + 1;
    assert_int_equal(gen_params_check(&p), RV_ERR_INVALID);

    /* The last day: its sales before midnight fit, the rest do not. */
    p.start_day = last;
    assert_int_equal(gen_params_check(&p), RV_OK);
    assert_int_equal(gen_count_check(&p, 0), RV_OK);
    uint64_t fit = 0;
    while (fit < p.per_day) {
        gen_sale(&p, fit, NULL, &s);
        if (s.env.occurred_at_us >= RV_CODEC_MAX_TIME_US) {
            break;
        }
        fit++;
    }
    assert_true(fit > 0 && fit < p.per_day);
    assert_int_equal(gen_count_check(&p, fit), RV_OK);
    assert_int_equal(gen_count_check(&p, fit + 1), RV_ERR_INVALID);
    assert_int_equal(gen_count_check(&p, UINT64_MAX / 2), RV_ERR_INVALID);
    /* From 2014: a million sales at 700 a day end in 2017. */
    p = params(9);
    assert_int_equal(gen_count_check(&p, 1000000), RV_OK);
    p.per_day = 1;
    assert_int_equal(gen_count_check(&p, UINT64_MAX / 2), RV_ERR_INVALID);
}

/* Orders of the sample: median USD 152, mean 459, p99 4,211, 6.6% at
 * USD 1,500 or more (R1's higher tiers). */
/* One number per customer, a customer always the same: no cooldown (C4)
 * couples two customers of a stream. The pool of 20,000 customers would
 * share about 20 numbers if they were drawn at random. */
static void test_generate_one_phone_per_customer(void **state)
{
    (void)state;
    gen_params p = params(5);
    p.customers = 20000;
    rv_sale s;
    static char phone_of[20000][sizeof(s.phone)];
    static uint8_t owner_seen[10000000 / 8];
    memset(phone_of, 0, sizeof(phone_of));
    memset(owner_seen, 0, sizeof(owner_seen));
    int customers = 0;
    for (uint64_t i = 0; i < 200000; i++) {
        gen_sale(&p, i, NULL, &s);
        unsigned long k = strtoul(strchr(s.customer_id, 'C') + 1, NULL, 10);
        assert_true(k < 20000);
        if (phone_of[k][0] != '\0') {
            assert_string_equal(phone_of[k], s.phone);
            continue;
        }
        snprintf(phone_of[k], sizeof(phone_of[k]), "%s", s.phone);
        unsigned long n = strtoul(s.phone + 3, NULL, 10);
        assert_false(owner_seen[n / 8] & (1u << (n % 8)));
        owner_seen[n / 8] |= (uint8_t)(1u << (n % 8));
        customers++;
    }
    assert_true(customers > 19000);
}

static void test_generate_amounts_like_superstore(void **state)
{
    (void)state;
    gen_params p = params(7);
    int64_t *amounts = calloc(SALES, sizeof(*amounts));
    assert_non_null(amounts);
    double sum = 0;
    size_t big = 0, gifts = 0, one_category = 0;
    for (uint64_t i = 0; i < SALES; i++) {
        rv_sale s;
        gen_sale(&p, i, NULL, &s);
        amounts[i] = s.amount_cents;
        sum += (double)s.amount_cents;
        big += s.amount_cents >= 150000;
        gifts += s.gift_cents > 0;
        one_category += s.category_count == 1;
    }
    /* The sample: 59% of orders with a discount, 66% of one category. */
    assert_true(gifts >= SALES * 55 / 100 && gifts <= SALES * 63 / 100);
    assert_true(one_category >= SALES * 60 / 100 &&
                one_category <= SALES * 75 / 100);
    qsort(amounts, SALES, sizeof(*amounts), cmp_i64);
    int64_t median = amounts[SALES / 2], p99 = amounts[SALES * 99 / 100];
    double mean = sum / SALES;
    assert_true(median >= 12000 && median <= 19000);
    assert_true(mean >= 35000 && mean <= 55000);
    assert_true(p99 >= 300000 && p99 <= 700000);
    assert_true(big >= SALES * 4 / 100 && big <= SALES * 9 / 100);
    free(amounts);
}

/* Customers come back (6 orders each on average, like the sample's 6.3),
 * keep their branch and segment and are new once; the branches weigh as the
 * sample's Regions (West 32%, East 28%, Central 23%, South 16%). */
static void test_generate_repeat_customers_and_branches(void **state)
{
    (void)state;
    gen_params p = params(3);
    typedef struct {
        char customer[RV_KEY_SIZE];
        char branch[RV_KEY_SIZE];
        char segment[RV_SHORT_SIZE];
    } row;
    row *rows = calloc(SALES, sizeof(*rows));
    assert_non_null(rows);
    uint8_t *seen = calloc(1, gen_seen_bytes(&p));
    assert_non_null(seen);
    size_t west = 0, south = 0, first_orders = 0;
    for (uint64_t i = 0; i < SALES; i++) {
        rv_sale s;
        gen_sale(&p, i, seen, &s);
        first_orders += s.new_customer;
        snprintf(rows[i].customer, sizeof(rows[i].customer), "%s",
                 s.customer_id);
        snprintf(rows[i].branch, sizeof(rows[i].branch), "%s", s.branch_id);
        snprintf(rows[i].segment, sizeof(rows[i].segment), "%s", s.segment);
        west += strcmp(s.branch_id, "West") == 0;
        south += strcmp(s.branch_id, "South") == 0;
    }
    assert_true(west >= SALES * 28 / 100 && west <= SALES * 36 / 100);
    assert_true(south >= SALES * 12 / 100 && south <= SALES * 20 / 100);
    qsort(rows, SALES, sizeof(*rows), cmp_str);
    size_t customers = 0, max_orders = 0, run = 0;
    for (size_t i = 0; i < SALES; i++) {
        if (i > 0 && strcmp(rows[i].customer, rows[i - 1].customer) == 0) {
            assert_string_equal(rows[i].branch, rows[i - 1].branch);
            assert_string_equal(rows[i].segment, rows[i - 1].segment);
            run++;
        } else {
            customers++;
            run = 1;
        }
        max_orders = run > max_orders ? run : max_orders;
    }
    /* 3,333 in the pool; Poisson(6) leaves about 8 of them without an
     * order, and none with more than about 20. */
    assert_true(customers >= 3250 && customers <= 3333);
    assert_true(max_orders >= 10 && max_orders <= 25);
    /* The seen set marks each customer's first sale, once. */
    assert_int_equal(first_orders, customers);
    free(seen);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_same_seed_same_sales),
        cmocka_unit_test(test_generate_fields_are_valid),
        cmocka_unit_test(test_generate_most_per_day),
        cmocka_unit_test(test_generate_stays_in_event_time_range),
        cmocka_unit_test(test_generate_one_phone_per_customer),
        cmocka_unit_test(test_generate_amounts_like_superstore),
        cmocka_unit_test(test_generate_repeat_customers_and_branches),
    };
    return cmocka_run_group_tests_name("generate", tests, NULL, NULL);
}
