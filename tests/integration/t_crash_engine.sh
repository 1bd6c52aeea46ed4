# The engine crash campaign's make-check slice (tests/integration/
# crash_engine.sh; make campaign-crash runs the long one): a fixed first
# seed, so that a failure replays, and a bounded number of kills. Dumps
# change cartridges (small cartridges in a library), so kills land in
# loads, unloads, changer moves and labelling too, and the sources are
# files, commands and trees. ABS_CRASH_KILLS and ABS_CRASH_SEED change
# the kills and the first seed.
. "$(dirname "$0")/lib.sh"
seed=${ABS_CRASH_SEED:-424200}
echo "crash campaign (engine): first seed $seed"
sh "$ABS_TOP/tests/integration/crash_engine.sh" "$ABS_BUILD" \
	"${ABS_CRASH_KILLS:-20}" "$seed"
