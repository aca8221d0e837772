/* nsr-macro.h: cleanup attributes and small helpers shared by every module. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_ __attribute__((warn_unused_result))

#define NSR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Define a function suitable for _cleanup_ that calls @func on a non-NULL
 * pointer variable of type @type *.
 */
#define NSR_DEFINE_PTR_CLEANUP(type, func)                 \
	static inline void func##p(type **p)               \
	{                                                  \
		if (*p)                                    \
			func(*p);                          \
	}

static inline void nsr_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(nsr_freep)

static inline void nsr_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(nsr_closep)

static inline void nsr_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(nsr_fclosep)

/* Hand ownership of *@p to the caller and leave NULL behind for cleanup. */
#define NSR_TAKE_PTR(p)                    \
	({                                 \
		__typeof__(p) _tp = (p);   \
		(p) = NULL;                \
		_tp;                       \
	})

#define NSR_TAKE_FD(fd)            \
	({                         \
		int _tf = (fd);    \
		(fd) = -1;         \
		_tf;               \
	})
