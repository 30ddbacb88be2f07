/* string.h: the few <string.h> functions the firmware may use on targets built without a C library.
 *
 * The QEMU boards link with -nostdlib (no newlib); mps2_libc.c implements exactly these.
 * The calls are routed through GCC's builtins so fixed-size copies are inlined.
 */
#ifndef DC_MPS2_STRING_H
#define DC_MPS2_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, v, n) __builtin_memset((d), (v), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strlen(s) __builtin_strlen((s))

#endif /* DC_MPS2_STRING_H */
