# Archive jobs under abs-ctld, crash campaign, make check's slice
# (tests/integration/crash_archive_ctl.sh; make campaign-archive
# ARCHIVE_CAMPAIGN=ctl runs the long one): the media server and abs-ctld
# killed while a producer feeds the queue; every entry ends in the queue
# or in done with parts that read back as its file, never both, never
# neither, and the catalog agrees with done/. A fixed first seed, so that
# a failure replays; ABS_CRASH_KILLS and ABS_CRASH_SEED change the kills
# and the first seed.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is needed"
command -v sqlite3 >/dev/null || skip "sqlite3 is needed"
command -v xxh128sum >/dev/null || skip "xxh128sum is needed"
seed=${ABS_CRASH_SEED:-181900}
echo "crash campaign (archive jobs under abs-ctld): first seed $seed"
sh "$ABS_TOP/tests/integration/crash_archive_ctl.sh" "$ABS_BUILD" \
	"${ABS_CRASH_KILLS:-4}" "$seed"
