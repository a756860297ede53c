/* include/rv/compiler.h: the only place compiler attributes appear. */
#ifndef RV_COMPILER_H
#define RV_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define RV_MUSTCHECK __attribute__((warn_unused_result))
#define RV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define RV_UNUSED __attribute__((unused))
#define RV_NORETURN __attribute__((noreturn))
#else
#define RV_MUSTCHECK
#define RV_PRINTF(fmt, args)
#define RV_UNUSED
#define RV_NORETURN
#endif

#endif /* RV_COMPILER_H */
