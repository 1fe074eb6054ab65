/* test_name_index: names to dense ids (data/ft_name_index.h) and the growth rule of
 * the readers' arrays (data/ft_grow.h) — ids in order of first appearance, a name
 * seen again keeps its id, the table doubling at half load with every name still
 * found after each rehash (thousands of names, colliding slots included), the names
 * handed over, and an allocation failure leaving the index as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_grow.h"
#include "ft_name_index.h"

static void test_ids_in_first_order(void **state)
{
    (void)state;
    ft_name_index_t *x;
    assert_int_equal(ft_name_index_new(&x), FT_OK);
    assert_int_equal(x->mask, 15);
    const char *seq[] = {"ann", "bob", "ann", "", "carl", "bob", "Ann", ""};
    const uint32_t want[] = {0, 1, 0, 2, 3, 1, 4, 2};
    for (int i = 0; i < 8; i++) {
        uint32_t id = 99;
        assert_int_equal(ft_name_index_add(x, seq[i], "t", &id), FT_OK);
        assert_int_equal(id, want[i]);
    }
    assert_int_equal(x->count, 5);
    assert_int_equal(ft_name_index_find(x, "carl"), 3);
    assert_int_equal(ft_name_index_find(x, ""), 2);
    assert_int_equal(ft_name_index_find(x, "dan"), UINT32_MAX);
    assert_int_equal(ft_name_index_find(x, "an"), UINT32_MAX);
    uint32_t n = 0;
    char **names = ft_name_index_take(x, &n);
    assert_int_equal(n, 5);
    assert_string_equal(names[0], "ann");
    assert_string_equal(names[1], "bob");
    assert_string_equal(names[2], "");
    assert_string_equal(names[3], "carl");
    assert_string_equal(names[4], "Ann");
    /* taken: the index is empty, and numbers afresh */
    assert_int_equal(x->count, 0);
    assert_int_equal(ft_name_index_find(x, "ann"), UINT32_MAX);
    uint32_t id = 99;
    assert_int_equal(ft_name_index_add(x, "bob", "t", &id), FT_OK);
    assert_int_equal(id, 0);
    for (uint32_t i = 0; i < n; i++)
        ft_free(names[i]);
    ft_free(names);
    ft_name_index_destroy(&x);
    assert_null(x);
    ft_name_index_destroy(&x); /* safe twice */
    ft_name_index_destroy(NULL);
}

static void test_rehash(void **state)
{
    (void)state;
    ft_name_index_t *x;
    assert_int_equal(ft_name_index_new(&x), FT_OK);
    enum { N = 5000 };
    char name[32];
    uint32_t mask = x->mask;
    for (uint32_t i = 0; i < N; i++) {
        snprintf(name, sizeof name, "user%u", i);
        uint32_t id = 0;
        assert_int_equal(ft_name_index_add(x, name, "t", &id), FT_OK);
        assert_int_equal(id, i);
        /* at most half full, and the table only ever doubles */
        assert_true(2 * (size_t)x->count <= (size_t)x->mask + 1);
        assert_true(x->mask == mask || x->mask == 2 * mask + 1);
        if (x->mask != mask) { /* just rehashed: every name is still where it was */
            mask = x->mask;
            for (uint32_t j = 0; j <= i; j++) {
                snprintf(name, sizeof name, "user%u", j);
                assert_int_equal(ft_name_index_find(x, name), j);
            }
        }
    }
    assert_int_equal(x->count, N);
    assert_int_equal(x->mask + 1, 16384); /* 5000 names: first size holding 2 * 5001 slots */
    assert_int_equal(x->cap, 8192);       /* names grew 1024, 2048, 4096, 8192 */
    for (uint32_t i = 0; i < N; i += 7) { /* duplicates keep their ids, add nothing */
        snprintf(name, sizeof name, "user%u", i);
        uint32_t id = 0;
        assert_int_equal(ft_name_index_add(x, name, "t", &id), FT_OK);
        assert_int_equal(id, i);
    }
    assert_int_equal(x->count, N);
    for (uint32_t i = 0; i < N; i++)
        assert_string_equal(x->names[i], (snprintf(name, sizeof name, "user%u", i), name));
    ft_name_index_destroy(&x);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    ft_name_index_t *x;
    ft_alloc_fail_after(1);
    assert_int_equal(ft_name_index_new(&x), FT_ENOMEM);
    assert_null(x);
    assert_int_equal(ft_name_index_new(&x), FT_OK);
    char name[16];
    uint32_t id = 0;
    for (uint32_t i = 0; i < 7; i++) { /* 7 names: the 16-slot table still holds an 8th */
        snprintf(name, sizeof name, "n%u", i);
        assert_int_equal(ft_name_index_add(x, name, "t", &id), FT_OK);
    }
    ft_alloc_fail_after(1); /* the copy of the new name */
    id = 99;
    assert_int_equal(ft_name_index_add(x, "new", "names.csv", &id), FT_ENOMEM);
    assert_string_equal(ft_error_message(), "out of memory reading names.csv");
    assert_int_equal(id, 99);
    assert_int_equal(x->count, 7);
    assert_int_equal(ft_name_index_find(x, "new"), UINT32_MAX);
    assert_int_equal(ft_name_index_add(x, "new", "t", &id), FT_OK); /* 8 names in 16 slots */
    assert_int_equal(id, 7);
    assert_int_equal(x->mask, 15);
    ft_alloc_fail_after(1); /* the 9th name needs the 32-slot table */
    assert_int_equal(ft_name_index_add(x, "ninth", "t", &id), FT_ENOMEM);
    assert_int_equal(x->mask, 15);
    assert_int_equal(x->count, 8);
    for (uint32_t i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "n%u", i);
        assert_int_equal(ft_name_index_find(x, name), i);
    }
    assert_int_equal(ft_name_index_add(x, "ninth", "t", &id), FT_OK);
    assert_int_equal(id, 8);
    assert_int_equal(x->mask, 31);
    ft_alloc_fail_after(0);
    ft_name_index_destroy(&x);
}

static void test_grow(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    assert_int_equal(ft_grow((void **)&a, &cap, 0, sizeof *a, "t"), FT_OK);
    assert_null(a); /* nothing needed, nothing allocated */
    assert_int_equal(ft_grow((void **)&a, &cap, 1, sizeof *a, "t"), FT_OK);
    assert_int_equal(cap, 1024);
    a[1023] = 7;
    assert_int_equal(ft_grow((void **)&a, &cap, 1024, sizeof *a, "t"), FT_OK);
    assert_int_equal(cap, 1024); /* fits: unchanged */
    assert_int_equal(ft_grow((void **)&a, &cap, 1025, sizeof *a, "t"), FT_OK);
    assert_int_equal(cap, 2048);
    assert_int_equal(ft_grow((void **)&a, &cap, 10000, sizeof *a, "t"), FT_OK);
    assert_int_equal(cap, 16384); /* doubled as often as the need takes */
    assert_int_equal(a[1023], 7);
    int *was = a;
    ft_alloc_fail_after(1);
    assert_int_equal(ft_grow((void **)&a, &cap, 16385, sizeof *a, "x.csv"), FT_ENOMEM);
    assert_string_equal(ft_error_message(), "out of memory reading x.csv");
    assert_ptr_equal(a, was);
    assert_int_equal(cap, 16384);
    assert_int_equal(a[1023], 7);
    ft_alloc_fail_after(0);
    size_t big = 0;
    char *b = NULL;
    assert_int_equal(ft_grow((void **)&b, &big, 3000, 1, "t"), FT_OK);
    assert_int_equal(big, 4096); /* from nothing: 1024 doubled */
    ft_free(b);
    ft_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_in_first_order),
        cmocka_unit_test(test_rehash),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
