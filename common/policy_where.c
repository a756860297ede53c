/* common/policy_where.c: field path -> line in a YAML file, with libyaml's
 * document loader (policy_where.h). */
#include "policy_where.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    (void)doc;
    return n != NULL && n->type == YAML_SCALAR_NODE
               ? (const char *)n->data.scalar.value
               : NULL;
}

/* The value of key @p key in mapping @p map (its key node in *key_node). */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map,
                            const char *key, yaml_node_t **key_node)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *s = scalar(doc, k);
        if (s != NULL && strcmp(s, key) == 0) {
            *key_node = k;
            return yaml_document_get_node(doc, p->value);
        }
    }
    return NULL;
}

/* Element @p sel of sequence @p seq: by index if a number, else by id. */
static yaml_node_t *seq_get(yaml_document_t *doc, yaml_node_t *seq,
                            const char *sel)
{
    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE) {
        return NULL;
    }
    char *end = NULL;
    long idx = strtol(sel, &end, 10);
    bool numeric = end != sel && *end == '\0';
    long i = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++, i++) {
        yaml_node_t *n = yaml_document_get_node(doc, *it);
        if (numeric) {
            if (i == idx) {
                return n;
            }
            continue;
        }
        yaml_node_t *k = NULL;
        const char *id = scalar(doc, map_get(doc, n, "id", &k));
        if (id != NULL && strcmp(id, sel) == 0) {
            return n;
        }
    }
    return NULL;
}

/* Appends @p text to @p out (NUL-terminated, @p size bytes), cutting it. */
static void append(char *out, size_t size, const char *text)
{
    if (out == NULL || size == 0) {
        return;
    }
    size_t len = strlen(out);
    if (len + 1 < size) {
        snprintf(out + len, size - len, "%s", text);
    }
}

int policy_line_of(const char *file, const char *field_path)
{
    return policy_where(file, field_path, NULL, 0);
}

int policy_where(const char *file, const char *field_path, char *shown,
                 size_t shown_size)
{
    if (shown != NULL && shown_size > 0) {
        snprintf(shown, shown_size, "%s", field_path);
    }
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        return 0;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return 0;
    }
    yaml_parser_set_input_file(&parser, f);
    int line = 0;
    /* The path as resolved so far, ids for indexes; it replaces @p shown
     * only if the whole path resolves. */
    char walked[256] = "";
    bool resolved = false;
    if (yaml_parser_load(&parser, &doc)) {
        yaml_node_t *node = yaml_document_get_root_node(&doc);
        char path[256];
        snprintf(path, sizeof(path), "%s", field_path);
        char *save = NULL;
        resolved = node != NULL;
        for (char *seg = strtok_r(path, ".", &save); seg != NULL && node;
             seg = strtok_r(NULL, ".", &save)) {
            char *br = strchr(seg, '[');
            if (br != NULL) {
                *br = '\0';
            }
            yaml_node_t *key = NULL;
            node = map_get(&doc, node, seg, &key);
            if (node == NULL) {
                resolved = false;
                break;
            }
            append(walked, sizeof(walked), walked[0] != '\0' ? "." : "");
            append(walked, sizeof(walked), seg);
            line = (int)(key != NULL ? key : node)->start_mark.line + 1;
            while (br != NULL && node != NULL) {
                char *sel = br + 1;
                char *close = strchr(sel, ']');
                if (close == NULL) {
                    resolved = false;
                    break;
                }
                *close = '\0';
                node = seq_get(&doc, node, sel);
                if (node == NULL) {
                    resolved = false;
                    break;
                }
                line = (int)node->start_mark.line + 1;
                yaml_node_t *id_key = NULL;
                const char *id =
                    scalar(&doc, map_get(&doc, node, "id", &id_key));
                append(walked, sizeof(walked), "[");
                append(walked, sizeof(walked), id != NULL ? id : sel);
                append(walked, sizeof(walked), "]");
                br = close[1] == '[' ? close + 1 : NULL;
            }
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (resolved && shown != NULL && shown_size > 0) {
        snprintf(shown, shown_size, "%s", walked);
    }
    return line;
}
