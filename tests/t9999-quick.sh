. tests/lib.sh
start_redis
test_case '10,000 entries drained, every payload byte-exact' '
	"$XRTEST" fill "$REDIS_URL" s 10000 --mixed --big 5000 --size 20 >/dev/null
	rcli XGROUP CREATE s g 0 >/dev/null
	crash_consumer s g dead
	xr run -s s --claim-idle 0 --batch 137
	"$XRTEST" verify "$REDIS_URL" "$DB" s g > $TMP/v
	cat $TMP/v
	assert_grep "checked=10000 mismatched=0 gone=0 duplicated=0 held=10000 unjournalled=0" $TMP/v
'
test_done
