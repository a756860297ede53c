#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "import_superstore.h"

static void test_import_parse_amount(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(import_parse_amount("261.96", &v), RV_OK);
    assert_int_equal(v, 2619600);
    assert_int_equal(import_parse_amount("22.368", &v), RV_OK);
    assert_int_equal(v, 223680);
    assert_int_equal(import_parse_amount("7", &v), RV_OK);
    assert_int_equal(v, 70000);
    assert_int_equal(import_parse_amount("-3.5", &v), RV_OK);
    assert_int_equal(v, -35000);
    assert_int_equal(import_parse_amount("1.23456", &v), RV_ERR_INVALID);
    assert_int_equal(import_parse_amount("abc", &v), RV_ERR_INVALID);
    assert_int_equal(import_parse_amount("", &v), RV_ERR_INVALID);
    assert_int_equal(import_parse_amount("1e5", &v), RV_ERR_INVALID);
    /* Issue 6 no. 12: 21,474,836.48 is 2,147,483,648 cents, exact (past
     * int32), in int64. */
    assert_int_equal(import_parse_amount("21474836.48", &v), RV_OK);
    assert_int_equal(v, 214748364800LL);
    assert_int_equal((v + 50) / 100, 2147483648LL);
    /* Out of range is refused, not wrapped. */
    assert_int_equal(import_parse_amount("99999999999999999999", &v),
                     RV_ERR_INVALID);
}

static void test_import_groups_lines_into_orders(void **state)
{
    (void)state;
    char path[] = "/tmp/rv_import_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *csv =
        "\"Row ID\",\"Order ID\",\"Order Date\",\"Customer ID\",\"City\","
        "\"Region\",\"Segment\",\"Product Name\",\"Sales\"\n"
        "1,\"CA-2016-2\",2016-11-08,\"CG-1\",\"Henderson\",\"South\","
        "\"Consumer\",\"Chairs, Rounded Back\",731.94\n"
        "2,\"CA-2016-2\",2016-11-08,\"CG-1\",\"Henderson\",\"South\","
        "\"Consumer\",\"Bookcase\",261.96\n"
        "3,\"CA-2015-1\",2015-06-12,\"DV-2\",\"Los Angeles\",\"West\","
        "\"Corporate\",\"Labels\",14.62\n"
        "4,\"CA-2015-9\",2015-13-40,\"DV-2\",\"Los Angeles\",\"West\","
        "\"Corporate\",\"Labels\",1.00\n"
        "5,\"CA-2015-8\",2015-06-12,\"DV-2\",\"Los Angeles\",\"West\","
        "\"Corporate\",\"Labels\",oops\n";
    assert_int_equal(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
    close(fd);
    import_result r;
    char err[256] = "";
    assert_int_equal(import_superstore_read(path, &r, err, sizeof(err)), RV_OK);
    unlink(path);
    assert_int_equal(r.order_count, 2);
    assert_int_equal(r.line_count, 3);
    assert_int_equal(r.rejected_count, 2);
    /* Sorted by date: the 2015 order first. */
    assert_string_equal(r.orders[0].order_id, "CA-2015-1");
    assert_string_equal(r.orders[1].order_id, "CA-2016-2");
    assert_int_equal(r.orders[1].line_count, 2);
    assert_int_equal(r.orders[1].amount_1e4, 9939000);
    assert_string_equal(r.orders[1].branch_id, "South");
    assert_string_equal(r.orders[1].store_id, "Henderson");
    rv_sale s, s2;
    assert_int_equal(import_order_to_sale(&r.orders[1], &s), RV_OK);
    assert_int_equal(import_order_to_sale(&r.orders[1], &s2), RV_OK);
    assert_int_equal(s.amount_cents, 99390);
    assert_string_equal(s.env.event_id, s2.env.event_id);
    assert_string_equal(s.phone, s2.phone);
    assert_true(s.phone_synthetic);
    assert_int_equal(strlen(s.phone), 10);
    /* 2016-11-08 12:00 UTC */
    assert_int_equal(s.env.occurred_at_us, 1478606400000000LL);
    import_result_fini(&r);
}

/* Issue 3: categories, the first order of a customer (R8), the discount
 * as the gift stand-in (R4) and a synthetic class (R9). */
static void test_import_new_fields(void **state)
{
    (void)state;
    char path[] = "/tmp/rv_import_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *csv =
        "\"Order ID\",\"Order Date\",\"Customer ID\",\"City\",\"Region\","
        "\"Segment\",\"Category\",\"Sales\",\"Discount\"\n"
        "\"O-2\",2016-11-08,\"C-1\",\"Henderson\",\"South\",\"Consumer\","
        "\"Furniture\",100.00,0.2\n"
        "\"O-2\",2016-11-08,\"C-1\",\"Henderson\",\"South\",\"Consumer\","
        "\"Technology\",50.00,0\n"
        "\"O-2\",2016-11-08,\"C-1\",\"Henderson\",\"South\",\"Consumer\","
        "\"Furniture\",10.00,0.5\n"
        "\"O-1\",2015-06-12,\"C-1\",\"Henderson\",\"South\",\"Consumer\","
        "\"Furniture\",14.62,\n"
        "\"O-3\",2015-06-12,\"C-2\",\"Henderson\",\"South\",\"Consumer\","
        "\"Furniture\",14.62,1.5\n";
    assert_int_equal(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
    close(fd);
    import_result r;
    char err[256] = "";
    assert_int_equal(import_superstore_read(path, &r, err, sizeof(err)), RV_OK);
    unlink(path);
    assert_int_equal(r.rejected_count, 1); /* discount 1.5 */
    assert_int_equal(r.order_count, 2);
    assert_string_equal(r.orders[0].order_id, "O-1");
    assert_true(r.orders[0].new_customer);
    assert_false(r.orders[1].new_customer);
    rv_sale s;
    assert_int_equal(import_order_to_sale(&r.orders[1], &s), RV_OK);
    assert_int_equal(s.amount_cents, 16000);
    assert_int_equal(s.gift_cents, 2500); /* 100 x 0.2 + 10 x 0.5 */
    assert_int_equal(s.category_count, 2);
    assert_string_equal(s.categories[0], "Furniture");
    assert_string_equal(s.categories[1], "Technology");
    assert_false(s.new_customer);
    assert_int_equal(strlen(s.customer_class), 1);
    assert_true(strchr("ABCD", s.customer_class[0]) != NULL);
    rv_sale first;
    assert_int_equal(import_order_to_sale(&r.orders[0], &first), RV_OK);
    assert_true(first.new_customer);
    assert_int_equal(first.gift_cents, 0);
    assert_string_equal(first.customer_class, s.customer_class);
    import_result_fini(&r);
}

/* R5: the sample has no work orders; 2% of the orders get a complaint
 * and 1% a repair, closed 3..12 days after the order, deterministic. */
static void test_import_synthetic_work_orders(void **state)
{
    (void)state;
    int complaints = 0, repairs = 0;
    for (int i = 0; i < 5000; i++) {
        import_order o;
        memset(&o, 0, sizeof(o));
        snprintf(o.order_id, sizeof(o.order_id), "CA-2016-%06d", i);
        snprintf(o.customer_id, sizeof(o.customer_id), "C-%d", i % 700);
        snprintf(o.branch_id, sizeof(o.branch_id), "West");
        snprintf(o.store_id, sizeof(o.store_id), "Seattle");
        snprintf(o.date, sizeof(o.date), "2016-03-01");
        o.amount_1e4 = 100000;
        rv_sale s;
        assert_int_equal(import_order_to_sale(&o, &s), RV_OK);
        rv_work_order w, w2;
        bool has = import_order_work_order(&o, &s, &w);
        assert_int_equal(has, import_order_work_order(&o, &s, &w2));
        if (!has) {
            continue;
        }
        assert_string_equal(w.env.event_id, w2.env.event_id);
        assert_string_equal(w.env.causation_id, s.env.event_id);
        assert_string_equal(w.customer_id, s.customer_id);
        assert_string_equal(w.phone, s.phone);
        int64_t after = w.env.occurred_at_us - s.env.occurred_at_us;
        assert_true(after >= 3 * 86400LL * 1000000 + 3 * 3600LL * 1000000);
        assert_true(after <= 12 * 86400LL * 1000000 + 3 * 3600LL * 1000000);
        if (w.kind == RV_WORK_ORDER_COMPLAINT) {
            complaints++;
            assert_memory_equal(w.work_order_id, "CMP-", 4);
        } else {
            repairs++;
            assert_memory_equal(w.work_order_id, "REP-", 4);
        }
    }
    /* 100 and 50 expected; hash draws, fixed IDs. */
    assert_in_range(complaints, 70, 130);
    assert_in_range(repairs, 30, 75);
}

static void test_import_rejects_missing_column(void **state)
{
    (void)state;
    char path[] = "/tmp/rv_import_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *csv = "\"Order ID\",\"Sales\"\n\"X\",1\n";
    assert_int_equal(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
    close(fd);
    import_result r;
    char err[256] = "";
    assert_int_equal(import_superstore_read(path, &r, err, sizeof(err)),
                     RV_ERR_INVALID);
    unlink(path);
    assert_non_null(strstr(err, "Order Date"));
    assert_int_equal(
        import_superstore_read("/nonexistent.csv", &r, err, sizeof(err)),
        RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_parse_amount),
        cmocka_unit_test(test_import_groups_lines_into_orders),
        cmocka_unit_test(test_import_new_fields),
        cmocka_unit_test(test_import_synthetic_work_orders),
        cmocka_unit_test(test_import_rejects_missing_column),
    };
    return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
