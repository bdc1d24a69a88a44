/* The module of the committed build_id files: `check` traps when its argument is negative. */

static int limit = 100;

static int clamp(int value) {
    if (value < 0) {
        __builtin_trap();
    }
    return value > limit ? limit : value;
}

__attribute__((export_name("check"))) int check(int value) {
    int clamped = clamp(value);
    return clamped * 2;
}
