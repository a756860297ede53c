/* workers/revisitctl/import_superstore.c: the Superstore CSV, parsed with
 * libcsv, grouped into orders. */
#include "import_superstore.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "rv/calendar.h"
#include "rv/hash.h"

enum {
    COL_ORDER,
    COL_DATE,
    COL_CUSTOMER,
    COL_REGION,
    COL_CITY,
    COL_SEGMENT,
    COL_SALES,
    COL_REQUIRED, /* the columns above are required */
    COL_CATEGORY = COL_REQUIRED,
    COL_DISCOUNT,
    COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "Order ID", "Order Date", "Customer ID", "Region",  "City",
    "Segment",  "Sales",      "Category",    "Discount"};

#define FIELDS_MAX 64
#define FIELD_MAX_BYTES 512

typedef struct parse_state {
    import_result *res;
    int col_index[COL_COUNT]; /* -1 until the header names it */
    char fields[FIELDS_MAX][FIELD_MAX_BYTES];
    size_t field_count;
    size_t row; /* 1 = header */
    bool header_done;
    rv_err err;
    char *errstr;
    size_t errstr_size;
    size_t order_cap;
} parse_state;

rv_err import_parse_amount(const char *s, int64_t *out_1e4)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!isdigit((unsigned char)*p)) {
        return RV_ERR_INVALID;
    }
    int64_t whole = 0;
    while (isdigit((unsigned char)*p)) {
        if (whole > 100000000000LL) {
            return RV_ERR_INVALID;
        }
        whole = whole * 10 + (*p++ - '0');
    }
    int64_t frac = 0;
    int digits = 0;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits == 4) {
                return RV_ERR_INVALID;
            }
            frac = frac * 10 + (*p++ - '0');
            digits++;
        }
    }
    if (*p != '\0') {
        return RV_ERR_INVALID;
    }
    while (digits++ < 4) {
        frac *= 10;
    }
    int64_t v = whole * 10000 + frac;
    *out_1e4 = neg ? -v : v;
    return RV_OK;
}

static void on_field(void *data, size_t len, void *ctx)
{
    parse_state *st = ctx;
    if (st->field_count < FIELDS_MAX) {
        size_t n = len < FIELD_MAX_BYTES - 1 ? len : FIELD_MAX_BYTES - 1;
        memcpy(st->fields[st->field_count], data, n);
        st->fields[st->field_count][n] = '\0';
    }
    st->field_count++;
}

static void header_row(parse_state *st)
{
    for (int c = 0; c < COL_COUNT; c++) {
        st->col_index[c] = -1;
        for (size_t f = 0; f < st->field_count && f < FIELDS_MAX; f++) {
            if (strcmp(st->fields[f], col_names[c]) == 0) {
                st->col_index[c] = (int)f;
            }
        }
        if (st->col_index[c] < 0 && c < COL_REQUIRED && st->err == RV_OK) {
            rv_errf(st->errstr, st->errstr_size,
                    "import: header has no column \"%s\"", col_names[c]);
            st->err = RV_ERR_INVALID;
        }
    }
    st->header_done = true;
}

static void reject(parse_state *st, const char *why, const char *value)
{
    fprintf(stderr, "import: row %zu skipped: %s \"%s\"\n", st->row, why,
            value);
    st->res->rejected_count++;
}

static import_order *find_or_add(parse_state *st, const char *order_id,
                                 bool *added)
{
    import_result *r = st->res;
    /* Lines of an order are adjacent in the file: look at the last few. */
    for (size_t i = r->order_count; i > 0 && i + 16 > r->order_count; i--) {
        if (strcmp(r->orders[i - 1].order_id, order_id) == 0) {
            *added = false;
            return &r->orders[i - 1];
        }
    }
    for (size_t i = 0; i < r->order_count; i++) {
        if (strcmp(r->orders[i].order_id, order_id) == 0) {
            *added = false;
            return &r->orders[i];
        }
    }
    if (r->order_count == st->order_cap) {
        size_t cap = st->order_cap ? st->order_cap * 2 : 1024;
        import_order *o = realloc(r->orders, cap * sizeof(*o));
        if (o == NULL) {
            return NULL;
        }
        r->orders = o;
        st->order_cap = cap;
    }
    *added = true;
    import_order *o = &r->orders[r->order_count++];
    memset(o, 0, sizeof(*o));
    return o;
}

/* The order's distinct categories, in first-seen order, at most
 * RV_CATEGORIES_MAX. */
static void add_category(import_order *o, const char *cat)
{
    if (cat[0] == '\0' || strlen(cat) >= RV_SHORT_SIZE) {
        return;
    }
    for (size_t i = 0; i < o->category_count; i++) {
        if (strcmp(o->categories[i], cat) == 0) {
            return;
        }
    }
    if (o->category_count < RV_CATEGORIES_MAX) {
        rv_copy_str(o->categories[o->category_count++], RV_SHORT_SIZE, cat);
    }
}

static void data_row(parse_state *st)
{
    const char *v[COL_COUNT];
    for (int c = 0; c < COL_COUNT; c++) {
        int f = st->col_index[c];
        if (f < 0 && c >= COL_REQUIRED) {
            v[c] = ""; /* an optional column the file does not have */
            continue;
        }
        if ((size_t)f >= st->field_count ||
            (st->fields[f][0] == '\0' && c < COL_REQUIRED)) {
            reject(st, "missing", col_names[c]);
            return;
        }
        v[c] = st->fields[f];
    }
    int64_t discount = 0; /* 1/10000 of the line's Sales */
    if (v[COL_DISCOUNT][0] != '\0' &&
        (import_parse_amount(v[COL_DISCOUNT], &discount) != RV_OK ||
         discount < 0 || discount >= 10000)) {
        reject(st, "bad Discount", v[COL_DISCOUNT]);
        return;
    }
    int64_t amount = 0, day = 0;
    if (import_parse_amount(v[COL_SALES], &amount) != RV_OK || amount < 0) {
        reject(st, "bad Sales", v[COL_SALES]);
        return;
    }
    if (rv_calendar_day_parse(v[COL_DATE], &day) != RV_OK) {
        reject(st, "bad Order Date", v[COL_DATE]);
        return;
    }
    if (strlen(v[COL_ORDER]) >= RV_KEY_SIZE ||
        strlen(v[COL_CUSTOMER]) >= RV_KEY_SIZE) {
        reject(st, "ID too long", v[COL_ORDER]);
        return;
    }
    st->res->line_count++;
    bool added = false;
    import_order *o = find_or_add(st, v[COL_ORDER], &added);
    if (o == NULL) {
        st->err = RV_ERR_NOMEM;
        return;
    }
    if (added) {
        rv_copy_str(o->order_id, sizeof(o->order_id), v[COL_ORDER]);
        rv_copy_str(o->customer_id, sizeof(o->customer_id), v[COL_CUSTOMER]);
        rv_copy_str(o->branch_id, sizeof(o->branch_id), v[COL_REGION]);
        rv_copy_str(o->store_id, sizeof(o->store_id), v[COL_CITY]);
        rv_copy_str(o->segment, sizeof(o->segment), v[COL_SEGMENT]);
        rv_copy_str(o->date, sizeof(o->date), v[COL_DATE]);
    }
    if (amount > INT64_MAX - o->amount_1e4) {
        /* Issue 6 no. 12: a sum of lines never wraps around. */
        reject(st, "order total overflows int64", v[COL_ORDER]);
        return;
    }
    o->amount_1e4 += amount;
    o->gift_1e4 +=
        amount / 10000 * discount + amount % 10000 * discount / 10000;
    o->line_count++;
    add_category(o, v[COL_CATEGORY]);
}

static void on_row(int term, void *ctx)
{
    (void)term;
    parse_state *st = ctx;
    st->row++;
    if (st->err == RV_OK) {
        if (!st->header_done) {
            header_row(st);
        } else if (st->field_count > FIELDS_MAX) {
            reject(st, "too many fields", "");
        } else {
            data_row(st);
        }
    }
    st->field_count = 0;
}

static int order_cmp(const void *a, const void *b)
{
    const import_order *x = a, *y = b;
    int c = strcmp(x->date, y->date);
    return c != 0 ? c : strcmp(x->order_id, y->order_id);
}

static int cust_cmp(const void *a, const void *b)
{
    const import_order *const *x = a, *const *y = b;
    int c = strcmp((*x)->customer_id, (*y)->customer_id);
    if (c == 0) {
        c = (*x < *y) ? -1 : (*x > *y); /* file order = (date, order) */
    }
    return c;
}

/* R8: an order is the customer's first purchase when no earlier (date,
 * order ID) order of the customer is in the file. */
static void mark_new_customers(import_result *r)
{
    const import_order **by = malloc(r->order_count * sizeof(*by) + 1);
    if (by == NULL) {
        return; /* new_customer stays false: a weaker signal, not wrong */
    }
    for (size_t i = 0; i < r->order_count; i++) {
        by[i] = &r->orders[i];
    }
    qsort(by, r->order_count, sizeof(*by), cust_cmp);
    for (size_t i = 0; i < r->order_count; i++) {
        if (i == 0 || strcmp(by[i]->customer_id, by[i - 1]->customer_id)) {
            ((import_order *)by[i])->new_customer = true;
        }
    }
    free(by);
}

rv_err import_superstore_read(const char *path, import_result *out,
                              char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        rv_errf(errstr, errstr_size, "import: cannot open %s: %s", path,
                strerror(errno));
        return RV_ERR_INVALID;
    }
    import_result res = {0};
    parse_state *st = calloc(1, sizeof(*st));
    struct csv_parser parser;
    if (st == NULL || csv_init(&parser, CSV_APPEND_NULL) != 0) {
        free(st);
        fclose(f);
        return RV_ERR_NOMEM;
    }
    st->res = &res;
    st->errstr = errstr;
    st->errstr_size = errstr_size;
    char buf[65536];
    size_t n;
    while (st->err == RV_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (csv_parse(&parser, buf, n, on_field, on_row, st) != n) {
            rv_errf(errstr, errstr_size, "import: %s: %s", path,
                    csv_strerror(csv_error(&parser)));
            st->err = RV_ERR_INVALID;
        }
    }
    if (st->err == RV_OK) {
        csv_fini(&parser, on_field, on_row, st);
    }
    csv_free(&parser);
    fclose(f);
    rv_err err = st->err;
    if (err == RV_OK && !st->header_done) {
        rv_errf(errstr, errstr_size, "import: %s is empty", path);
        err = RV_ERR_INVALID;
    }
    free(st);
    if (err != RV_OK) {
        free(res.orders);
        return err;
    }
    if (res.order_count > 0) {
        /* Every row rejected leaves orders NULL, and qsort's pointer must
         * not be NULL even for 0 elements (found by fuzz_csv). */
        qsort(res.orders, res.order_count, sizeof(*res.orders), order_cmp);
        mark_new_customers(&res);
    }
    *out = res;
    return RV_OK;
}

void import_result_fini(import_result *r)
{
    free(r->orders);
    r->orders = NULL;
    r->order_count = 0;
}

rv_err import_order_to_sale(const import_order *o, rv_sale *out)
{
    int64_t day = 0;
    if (rv_calendar_day_parse(o->date, &day) != RV_OK) {
        return RV_ERR_INVALID;
    }
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char event_id[RV_ID_SIZE];
    const char *parts[] = {"superstore", o->order_id};
    rv_id_derive(event_id, 2, parts);
    int64_t noon_us = (day * 86400LL + 12 * 3600LL) * 1000000LL;
    rv_envelope_fill(&s.env, event_id, noon_us, "revisitctl-import", "");
    rv_copy_str(s.order_id, sizeof(s.order_id), o->order_id);
    rv_copy_str(s.customer_id, sizeof(s.customer_id), o->customer_id);
    rv_copy_str(s.branch_id, sizeof(s.branch_id), o->branch_id);
    rv_copy_str(s.store_id, sizeof(s.store_id), o->store_id);
    rv_copy_str(s.segment, sizeof(s.segment), o->segment);
    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    /* Half up without adding first: a total may be INT64_MAX (issue 6,
     * found on the fuzz target's path). Amounts are >= 0. */
    s.amount_cents = o->amount_1e4 / 100 + (o->amount_1e4 % 100 >= 50);
    const char *pparts[] = {"phone", o->customer_id};
    uint64_t h = rv_hash_u64(2, pparts);
    snprintf(s.phone, sizeof(s.phone), "555%07llu",
             (unsigned long long)(h % 10000000ULL));
    s.phone_synthetic = true;
    s.line_count = o->line_count;
    /* R4: the sample has no gift column; the order's discount stands in
     * for the value of a promotional gift (synthetic, documented). */
    s.gift_cents = o->gift_1e4 / 100 + (o->gift_1e4 % 100 >= 50);
    s.new_customer = o->new_customer;
    for (size_t i = 0; i < o->category_count; i++) {
        rv_copy_str(s.categories[i], RV_SHORT_SIZE, o->categories[i]);
    }
    s.category_count = o->category_count;
    /* R9: a synthetic CRM class from the customer ID: A 10%, B 20%, C 50%,
     * D 20%. */
    const char *cparts[] = {"class", o->customer_id};
    uint64_t pct = rv_hash_u64(2, cparts) % 100;
    rv_copy_str(s.customer_class, sizeof(s.customer_class),
                pct < 10   ? "A"
                : pct < 30 ? "B"
                : pct < 80 ? "C"
                           : "D");
    *out = s;
    return RV_OK;
}

bool import_order_work_order(const import_order *o, const rv_sale *sale,
                             rv_work_order *out)
{
    const char *parts[] = {"superstore-work-order", o->order_id};
    uint64_t h = rv_hash_u64(2, parts);
    unsigned pct = (unsigned)(h % 100);
    if (pct >= IMPORT_COMPLAINT_PERCENT + IMPORT_REPAIR_PERCENT) {
        return false;
    }
    rv_work_order w;
    memset(&w, 0, sizeof(w));
    w.kind = pct < IMPORT_COMPLAINT_PERCENT ? RV_WORK_ORDER_COMPLAINT
                                            : RV_WORK_ORDER_REPAIR;
    /* Closed 3..12 days after the order, at 15:00 UTC. */
    int64_t days = 3 + (int64_t)((h / 100) % 10);
    int64_t at = sale->env.occurred_at_us + days * 86400LL * 1000000LL +
                 3LL * 3600 * 1000000;
    char event_id[RV_ID_SIZE];
    const char *eparts[] = {"superstore-work-order", o->order_id, "event"};
    rv_id_derive(event_id, 3, eparts);
    rv_envelope_fill(&w.env, event_id, at, "revisitctl-import",
                     sale->env.event_id);
    snprintf(w.work_order_id, sizeof(w.work_order_id), "%s-%.58s",
             w.kind == RV_WORK_ORDER_COMPLAINT ? "CMP" : "REP", o->order_id);
    rv_copy_str(w.customer_id, sizeof(w.customer_id), sale->customer_id);
    rv_copy_str(w.branch_id, sizeof(w.branch_id), sale->branch_id);
    rv_copy_str(w.store_id, sizeof(w.store_id), sale->store_id);
    rv_copy_str(w.phone, sizeof(w.phone), sale->phone);
    w.phone_synthetic = sale->phone_synthetic;
    *out = w;
    return true;
}
