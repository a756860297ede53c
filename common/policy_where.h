/* common/policy_where.h: where in a policy file a field is (private to
 * common/policy.c), so an error names the line as well as the field. */
#ifndef RV_POLICY_WHERE_H
#define RV_POLICY_WHERE_H

#include <stddef.h>

/**
 * The line (1-based) of field @p field_path in YAML file @p file, 0 if it
 * cannot be found or the file cannot be read. The path is segments
 * separated by '.', each a mapping key with optional selectors in
 * brackets: a number is a sequence index, anything else the element
 * whose "id" is that text, e.g. "rules[R1].tiers[1].rate". As far as the
 * path resolves, the deepest found node's line counts.
 */
int policy_line_of(const char *file, const char *field_path);

/**
 * As policy_line_of(), and also write into @p shown (@p shown_size bytes,
 * always NUL-terminated; NULL or 0 for none) the path as errors show it:
 * every sequence index whose element has an "id" replaced by that id
 * ("rules[5].x" -> "rules[R5].x"). An unresolved path is shown as given.
 */
int policy_where(const char *file, const char *field_path, char *shown,
                 size_t shown_size);

#endif /* RV_POLICY_WHERE_H */
