# The catalog's power-cut model, make-check slice (tests/integration/
# crash_powercut.sh; make campaign-crash runs the long one): copies of the
# catalog's files taken at random instants while abs-ctld runs dumps must
# open, pass integrity_check and show no complete dump whose parts are
# missing. ABS_CRASH_COPIES and ABS_CRASH_SEED change the size and seed.
. "$(dirname "$0")/lib.sh"
seed=${ABS_CRASH_SEED:-424400}
echo "power-cut model (catalog): seed $seed"
sh "$ABS_TOP/tests/integration/crash_powercut.sh" "$ABS_BUILD" \
	"${ABS_CRASH_COPIES:-12}" "$seed"
