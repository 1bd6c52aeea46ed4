# The archiver's crash campaign, make check's slice (tests/integration/
# crash_archive.sh; make campaign-archive runs the long one): a fixed
# first seed, so that a failure replays, and a bounded number of kills.
# Every queued entry ends in the queue or in done with parts that read
# back as its file, never both, never neither. ABS_CRASH_KILLS and
# ABS_CRASH_SEED change the kills and the first seed.
. "$(dirname "$0")/lib.sh"
seed=${ABS_CRASH_SEED:-181800}
echo "crash campaign (archiver): first seed $seed"
sh "$ABS_TOP/tests/integration/crash_archive.sh" "$ABS_BUILD" \
	"${ABS_CRASH_KILLS:-4}" "$seed"
