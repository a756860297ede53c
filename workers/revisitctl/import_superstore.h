/* workers/revisitctl/import_superstore.h: Superstore CSV rows -> orders.
 * I/O-free except for reading the file; no Kafka here. */
#ifndef RV_IMPORT_SUPERSTORE_H
#define RV_IMPORT_SUPERSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"
#include "rv/model.h"

/** One order: the sum of its lines (DESIGN §7 mapping). */
typedef struct import_order {
    char order_id[RV_KEY_SIZE];
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE]; /**< Region */
    char store_id[RV_KEY_SIZE];  /**< City */
    char segment[RV_SHORT_SIZE];
    char date[RV_SHORT_SIZE]; /**< Order Date, YYYY-MM-DD */
    int64_t amount_1e4;       /**< sum of Sales in 1/10000 USD */
    int64_t gift_1e4;         /**< sum of Sales x Discount (R4 stand-in) */
    uint32_t line_count;
    bool new_customer; /**< the customer's first order in the file (R8) */
    char categories[RV_CATEGORIES_MAX][RV_SHORT_SIZE]; /**< distinct */
    size_t category_count;
} import_order;

typedef struct import_result {
    import_order *orders; /**< sorted by (date, order_id); owned */
    size_t order_count;
    size_t line_count;     /**< data rows read */
    size_t rejected_count; /**< rows skipped, each reported on stderr */
} import_result;

/**
 * Read the Superstore CSV at @p path (header row required; columns found
 * by name: Order ID, Order Date, Customer ID, Region, City, Segment,
 * Sales; Category and Discount are optional) with libcsv, group lines by
 * order, sort the orders and mark each customer's first order.
 * A row with a missing field, a bad date or amount is skipped and
 * reported; an order whose lines disagree on customer or date keeps the
 * first line's.
 * @param out  on RV_OK, free with import_result_fini()
 * @returns RV_OK, RV_ERR_INVALID (unreadable file, header without a
 *          needed column; errstr), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err import_superstore_read(const char *path, import_result *out,
                                           char *errstr, size_t errstr_size);

void import_result_fini(import_result *r);

/**
 * The SaleEvent of @p o: event_id = derive("superstore", order_id),
 * occurred_at = 12:00 UTC on the order date (a date-only source; noon UTC
 * is the same calendar day in every US zone), amount rounded to cents
 * (half away from zero), a synthetic phone number derived from the
 * customer ID ("555" + 7 digits, phone_synthetic set), the order's
 * categories, new_customer, and two synthetic fields the sample lacks:
 * gift_cents = the order's discount (Sales x Discount, R4) and a customer
 * class from hash(customer ID): A 10%, B 20%, C 50%, D 20% (R9).
 * @returns RV_OK, RV_ERR_INVALID (bad date)
 */
RV_MUSTCHECK rv_err import_order_to_sale(const import_order *o, rv_sale *out);

/** Synthetic work orders (the sample has none): percent of orders that
 *  get a closed complaint, and a finished repair (R5). */
#define IMPORT_COMPLAINT_PERCENT 2
#define IMPORT_REPAIR_PERCENT 1

/**
 * The synthetic work order of order @p o, whose sale is @p sale (R5: the
 * sample has no complaints or repairs): hash("superstore-work-order",
 * order ID) gives IMPORT_COMPLAINT_PERCENT % of the orders a complaint
 * and IMPORT_REPAIR_PERCENT % a repair, closed 3..12 days after the order
 * at 15:00 UTC; event_id derived from the order, causation = the sale,
 * work_order_id "CMP-<order>" or "REP-<order>", the sale's customer,
 * branch, store and phone. Deterministic.
 * @returns true and fills @p out when the order has a work order
 */
bool import_order_work_order(const import_order *o, const rv_sale *sale,
                             rv_work_order *out);

/** Parse a decimal amount ("261.96", "22.368", "-3.5") into 1/10000
 *  units. @returns RV_OK, RV_ERR_INVALID (not a number, > 4 decimals, or
 *  out of range) */
RV_MUSTCHECK rv_err import_parse_amount(const char *s, int64_t *out_1e4);

#endif /* RV_IMPORT_SUPERSTORE_H */
