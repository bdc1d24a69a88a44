/* A failed C assert: `check(argc - 1)` with no program arguments asserts a positive count. Built
   by tests/tests/crash_reason.rs with Debian's clang and wasi-libc. */
#include <assert.h>
#include <stdio.h>

static int check(int count) {
    assert(count > 0 && "the count must be positive");
    return count * 2;
}

int main(int argc, char **argv) {
    (void)argv;
    printf("%d\n", check(argc - 1));
    return 0;
}
