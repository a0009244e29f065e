#!/bin/sh
# t0015-layers: the source tree keeps its layers (tools/layers.sh):
# cmd/ -> core/ -> stream/, store/ (never each other) -> lib/.  No file
# includes a header of a layer above or beside its own, no object needs a
# symbol defined above or beside it (so libxr.a links without cmd/), and no
# two units use each other.  Each rule is also broken on purpose in a copy
# of the tree, where the check must fail and name what broke it.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

test_case 'includes only look down' '
	assert_exit 0 sh "$TOP/tools/layers.sh" includes "$XR_BUILD"
'

test_case 'objects need nothing from a layer above or beside: libxr.a links without cmd/' '
	assert_exit 0 sh "$TOP/tools/layers.sh" links "$XR_BUILD"
'

test_case 'no two units use each other' '
	assert_exit 0 sh "$TOP/tools/layers.sh" cycles "$XR_BUILD"
'

# copy_tree: the sources, the check and the objects, in $TMP/tree
copy_tree() {
	rm -rf "$TMP/tree"
	mkdir -p "$TMP/tree/build"
	(cd "$TOP" && cp -R lib stream store core cmd tools "$TMP/tree/")
	cp -R "$XR_BUILD/obj" "$TMP/tree/build/obj"
}

# obj LAYER/NAME SOURCE: adds LAYER/NAME.c to the copy, and its object
obj() {
	printf '%s\n' "$2" >"$TMP/tree/$1.c"
	cc -c -o "$TMP/tree/build/obj/$1.o" "$TMP/tree/$1.c"
}

test_case 'the copy passes as the tree does; an object without its source is not counted' '
	copy_tree
	obj store/ping "void pong(int n); void ping(int n); void ping(int n) { if (n) pong(n - 1); }"
	obj store/pong "void ping(int n); void pong(int n); void pong(int n) { if (n) ping(n - 1); }"
	rm "$TMP/tree/store/ping.c"
	for rule in includes links cycles; do
		assert_exit 0 sh "$TMP/tree/tools/layers.sh" "$rule" build
	done
'

test_case 'a core/ file including a cmd/ header fails the check' '
	copy_tree
	sed -i "s|^#include \"select.h\"|#include \"../cmd/out.h\"\n&|" "$TMP/tree/core/select.c"
	assert_exit 1 sh "$TMP/tree/tools/layers.sh" includes build
	assert_grep "^includes: core/select.c -> cmd/out.h$" "$TMP/out"
'

test_case 'store/ including stream/, and lib/ including store/, fail the check' '
	copy_tree
	sed -i "s|^#include \"../lib/buf.h\"|&\n#include \"../stream/redis.h\"|" "$TMP/tree/store/moves.c"
	sed -i "s|^#include \"util.h\"|&\n#include \"../store/journal.h\"|" "$TMP/tree/lib/log.c"
	assert_exit 1 sh "$TMP/tree/tools/layers.sh" includes build
	assert_grep "^includes: store/moves.c -> stream/redis.h$" "$TMP/out"
	assert_grep "^includes: lib/log.c -> store/journal.h$" "$TMP/out"
'

test_case 'a core/ object calling into cmd/ fails the check, whatever it includes' '
	copy_tree
	obj core/upward "void out_error(void *o, const char *msg);
void upward(void); void upward(void) { out_error(0, \"x\"); }"
	assert_exit 1 sh "$TMP/tree/tools/layers.sh" links build
	assert_grep "^links: core/upward -> cmd/out \(out_error\)$" "$TMP/out"
'

test_case 'two files calling each other fail the check' '
	copy_tree
	obj store/ping "void pong(int n); void ping(int n); void ping(int n) { if (n) pong(n - 1); }"
	obj store/pong "void ping(int n); void pong(int n); void pong(int n) { if (n) ping(n - 1); }"
	assert_exit 1 sh "$TMP/tree/tools/layers.sh" cycles build
	assert_grep "^cycles: store/ping <-> store/pong$" "$TMP/out"
	assert_grep "^    store/ping -> store/pong: pong$" "$TMP/out"
'

test_case 'a known violation that is gone fails the check until it leaves the list' '
	copy_tree
	sed -i "s|^KNOWN=\"$|&\nincludes: core/nothing.c -> cmd/nothing.h|" "$TMP/tree/tools/layers.sh"
	assert_exit 1 sh "$TMP/tree/tools/layers.sh" includes build
	assert_grep "^stale: includes: core/nothing.c -> cmd/nothing.h" "$TMP/out"
'

test_done
