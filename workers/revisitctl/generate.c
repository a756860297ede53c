/* workers/revisitctl/generate.c: synthetic Superstore-like sales. Every
 * random choice is a counter-based draw, hash(seed, what, which), so sale
 * i needs no state of sales before it: a stream can be produced from any
 * index, paced or not, and be the same. */
#include "generate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rv/calendar.h"
#include "rv/codec.h"
#include "rv/hash.h"

#define TWO_PI 6.283185307179586
/* Log-normal amount in cents: median USD 152, sigma 1.45 gives a mean
 * of about USD 440 and a 99th percentile of about USD 4,400, close to the
 * sample's orders (median 152, mean 459, p99 4,211). */
#define AMOUNT_MEDIAN_CENTS 15200.0
#define AMOUNT_SIGMA 1.45
#define AMOUNT_MIN_CENTS 50
#define AMOUNT_MAX_CENTS 2500000
#define LINES_MAX 14
/* Sales of a day are spread over 12 hours from 13:00 UTC. */
#define DAY_OPEN_S (13 * 3600)
#define DAY_LENGTH_US (12 * 3600 * 1000000LL)
#define HOME_STORE_PERCENT 80
/* Synthetic numbers: "555" and 7 digits, a stride prime to 10^7. */
#define PHONE_SPACE 10000000ULL
#define PHONE_STRIDE 3456789ULL
#define DAY_US (86400 * 1000000LL)
/* The days whose first sale (13:00) the pipeline takes: from the day of
 * RV_CODEC_MIN_TIME_US to the day before RV_CODEC_MAX_TIME_US (both
 * midnights). */
#define DAY_MIN (RV_CODEC_MIN_TIME_US / DAY_US)
#define DAY_END (RV_CODEC_MAX_TIME_US / DAY_US)

/* What a draw is for: each its own stream. */
enum {
    DRAW_CUSTOMER = 1,
    DRAW_AMOUNT_1,
    DRAW_AMOUNT_2,
    DRAW_LINES,
    DRAW_STORE_AWAY,
    DRAW_STORE,
    DRAW_CUST_BRANCH,
    DRAW_CUST_SEGMENT,
    DRAW_CUST_STORE,
    DRAW_CUST_PHONE,
    DRAW_CUST_CLASS,
    DRAW_CATEGORY,
    DRAW_GIFT,
    DRAW_GIFT_SHARE,
};

typedef struct weighted {
    const char *name;
    unsigned weight;
} weighted;

/* Orders per Region in the sample; the branches of the default policy. */
static const weighted branches[] = {
    {"West", 1611}, {"East", 1401}, {"Central", 1175}, {"South", 822}};
#define BRANCH_COUNT (sizeof(branches) / sizeof(branches[0]))

static const weighted segments[] = {
    {"Consumer", 2586}, {"Corporate", 1514}, {"Home Office", 909}};

/* Lines per category in the sample. */
static const weighted categories[] = {
    {"Office Supplies", 6026}, {"Furniture", 2121}, {"Technology", 1847}};
#define CATEGORY_COUNT (sizeof(categories) / sizeof(categories[0]))

/* R9 classes, as the importer's synthetic class: A 10%, B 20%, C 50%,
 * D 20%. */
static const weighted classes[] = {{"A", 10}, {"B", 20}, {"C", 50}, {"D", 20}};

/* R4: 59% of the sample's orders carry a discount (the gift's stand-in);
 * its share of the amount, in percent, weighted like the sample's
 * (10th percentile 10%, median 20%, 90th 58%). */
#define GIFT_PERCENT 59
static const struct {
    unsigned percent;
    unsigned weight;
} gift_shares[] = {{10, 12}, {20, 48}, {30, 15}, {40, 10},
                   {50, 5},  {60, 4},  {70, 4},  {80, 2}};

/* The twelve busiest cities of each Region in the sample, orders each. */
#define CITIES_PER_BRANCH 12
static const weighted cities[BRANCH_COUNT][CITIES_PER_BRANCH] = {
    {{"Los Angeles", 384},
     {"San Francisco", 265},
     {"Seattle", 212},
     {"San Diego", 88},
     {"Phoenix", 29},
     {"San Jose", 20},
     {"Denver", 17},
     {"Portland", 15},
     {"Aurora", 15},
     {"Springfield", 15},
     {"Mesa", 14},
     {"Tucson", 13}},
    {{"New York City", 450},
     {"Philadelphia", 265},
     {"Columbus", 55},
     {"Newark", 45},
     {"Lakewood", 24},
     {"Lancaster", 23},
     {"Fairfield", 22},
     {"Long Beach", 22},
     {"Cleveland", 21},
     {"Baltimore", 21},
     {"Rochester", 20},
     {"Springfield", 19}},
    {{"Houston", 188},
     {"Chicago", 171},
     {"Dallas", 80},
     {"Detroit", 53},
     {"San Antonio", 27},
     {"Milwaukee", 23},
     {"Aurora", 20},
     {"Austin", 18},
     {"Columbus", 16},
     {"Jackson", 14},
     {"Omaha", 14},
     {"Richmond", 14}},
    {{"Jacksonville", 61},
     {"Columbus", 40},
     {"Miami", 34},
     {"Richmond", 27},
     {"Springfield", 25},
     {"Charlotte", 24},
     {"Jackson", 23},
     {"Columbia", 21},
     {"Arlington", 21},
     {"Fayetteville", 20},
     {"Henderson", 17},
     {"Atlanta", 17}},
};

/* SplitMix64's finaliser: a bijection that mixes every input bit. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t draw(const gen_params *p, uint64_t what, uint64_t which)
{
    return mix64(p->seed ^ mix64(mix64(which) + what));
}

/* A draw as a double in [0, 1), from its top 53 bits. */
static double unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1p-53;
}

static size_t pick(const weighted *w, size_t n, uint64_t h)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++) {
        total += w[i].weight;
    }
    unsigned x = (unsigned)(unit(h) * total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i].weight) {
            return i;
        }
        x -= w[i].weight;
    }
    return n - 1; /* not reached: x < total */
}

rv_err gen_params_check(const gen_params *p)
{
    if (p->per_day < 1 || p->per_day > GEN_PER_DAY_MAX || p->customers < 1 ||
        p->customers > GEN_CUSTOMERS_MAX || p->start_day < DAY_MIN ||
        p->start_day >= DAY_END) {
        return RV_ERR_INVALID;
    }
    return RV_OK;
}

/* occurred_at of sale @p index; its day must be before DAY_END (no
 * overflow). */
static int64_t occurred_at_us(const gen_params *p, uint64_t index)
{
    int64_t day = p->start_day + (int64_t)(index / p->per_day);
    int64_t slot = (int64_t)(index % p->per_day);
    return day * DAY_US + DAY_OPEN_S * 1000000LL +
           slot * (DAY_LENGTH_US / p->per_day);
}

rv_err gen_count_check(const gen_params *p, uint64_t count)
{
    if (count == 0) {
        return RV_OK;
    }
    /* Days past the first, compared before they are added: a count near
     * 2^63 must not wrap the day. */
    uint64_t days = (count - 1) / p->per_day;
    if (days >= (uint64_t)(DAY_END - p->start_day) ||
        occurred_at_us(p, count - 1) >= RV_CODEC_MAX_TIME_US) {
        return RV_ERR_INVALID;
    }
    return RV_OK;
}

static int64_t amount_cents(const gen_params *p, uint64_t index)
{
    /* Box-Muller: u1 in (0, 1] keeps the log finite. */
    double u1 = 1.0 - unit(draw(p, DRAW_AMOUNT_1, index));
    double u2 = unit(draw(p, DRAW_AMOUNT_2, index));
    double z = sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
    double cents = AMOUNT_MEDIAN_CENTS * exp(AMOUNT_SIGMA * z);
    if (!(cents >= AMOUNT_MIN_CENTS)) {
        return AMOUNT_MIN_CENTS;
    }
    if (cents > AMOUNT_MAX_CENTS) {
        return AMOUNT_MAX_CENTS;
    }
    return (int64_t)llround(cents);
}

/* Geometric with mean 2: the sample has 9,994 lines in 5,009 orders. */
static uint32_t line_count(const gen_params *p, uint64_t index)
{
    uint64_t h = draw(p, DRAW_LINES, index);
    uint32_t n = 1;
    while (n < LINES_MAX && (h & 1) != 0) {
        n++;
        h >>= 1;
    }
    return n;
}

/* Each line's category, distinct, in first-drawn order. */
static void add_categories(const gen_params *p, uint64_t index, rv_sale *s)
{
    for (uint32_t line = 0; line < s->line_count; line++) {
        uint64_t h = draw(p, DRAW_CATEGORY, index * LINES_MAX + line);
        const char *cat = categories[pick(categories, CATEGORY_COUNT, h)].name;
        size_t i = 0;
        while (i < s->category_count && strcmp(s->categories[i], cat) != 0) {
            i++;
        }
        if (i == s->category_count && i < RV_CATEGORIES_MAX) {
            rv_copy_str(s->categories[i], RV_SHORT_SIZE, cat);
            s->category_count++;
        }
    }
}

static int64_t gift_cents(const gen_params *p, uint64_t index, int64_t amount)
{
    if (draw(p, DRAW_GIFT, index) % 100 >= GIFT_PERCENT) {
        return 0;
    }
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(gift_shares) / sizeof(gift_shares[0]); i++) {
        total += gift_shares[i].weight;
    }
    unsigned x = (unsigned)(draw(p, DRAW_GIFT_SHARE, index) % total);
    size_t i = 0;
    while (x >= gift_shares[i].weight) {
        x -= gift_shares[i++].weight;
    }
    return (amount * gift_shares[i].percent + 50) / 100;
}

size_t gen_seen_bytes(const gen_params *p)
{
    return (size_t)(p->customers / 8 + 1);
}

void gen_sale(const gen_params *p, uint64_t index, uint8_t *seen, rv_sale *out)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    unsigned long long seed = (unsigned long long)p->seed;
    snprintf(s.order_id, sizeof(s.order_id), "S%llu-O%09llu", seed,
             (unsigned long long)index);
    char event_id[RV_ID_SIZE];
    const char *parts[] = {"synthetic", s.order_id};
    rv_id_derive(event_id, 2, parts);
    rv_envelope_fill(&s.env, event_id, occurred_at_us(p, index),
                     "revisitctl-generate", "");
    s.env.produced_at_us = 0;

    /* The customer and what belongs to it. */
    uint64_t k = draw(p, DRAW_CUSTOMER, index) % p->customers;
    snprintf(s.customer_id, sizeof(s.customer_id), "S%llu-C%07llu", seed,
             (unsigned long long)k);
    size_t b = pick(branches, BRANCH_COUNT, draw(p, DRAW_CUST_BRANCH, k));
    rv_copy_str(s.branch_id, sizeof(s.branch_id), branches[b].name);
    size_t seg = pick(segments, sizeof(segments) / sizeof(segments[0]),
                      draw(p, DRAW_CUST_SEGMENT, k));
    rv_copy_str(s.segment, sizeof(s.segment), segments[seg].name);
    size_t home =
        pick(cities[b], CITIES_PER_BRANCH, draw(p, DRAW_CUST_STORE, k));
    size_t store = home;
    if (draw(p, DRAW_STORE_AWAY, index) % 100 >= HOME_STORE_PERCENT) {
        store = pick(cities[b], CITIES_PER_BRANCH, draw(p, DRAW_STORE, index));
    }
    rv_copy_str(s.store_id, sizeof(s.store_id), cities[b][store].name);
    /* k -> k * PHONE_STRIDE + offset (mod 10^7) is one-to-one, since
     * the stride is prime to 10^7: no two customers of a pool up to 10^7
     * share a number, so no cooldown couples two customers (C4) and the
     * stream's verdicts do not depend on the order of its partitions. */
    uint64_t offset = draw(p, DRAW_CUST_PHONE, 0) % PHONE_SPACE;
    snprintf(s.phone, sizeof(s.phone), "555%07llu",
             (unsigned long long)((k % PHONE_SPACE * PHONE_STRIDE + offset) %
                                  PHONE_SPACE));
    s.phone_synthetic = true;
    size_t cls = pick(classes, sizeof(classes) / sizeof(classes[0]),
                      draw(p, DRAW_CUST_CLASS, k));
    rv_copy_str(s.customer_class, sizeof(s.customer_class), classes[cls].name);
    if (seen != NULL) {
        uint8_t bit = (uint8_t)(1u << (k % 8));
        s.new_customer = (seen[k / 8] & bit) == 0;
        seen[k / 8] |= bit;
    }

    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    s.amount_cents = amount_cents(p, index);
    s.line_count = line_count(p, index);
    add_categories(p, index, &s);
    s.gift_cents = gift_cents(p, index, s.amount_cents);
    *out = s;
}
