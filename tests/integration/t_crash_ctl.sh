# The control-plane crash campaign's make-check slice (tests/integration/
# crash_ctl.sh; make campaign-crash runs the long one): a fixed first seed
# and a bounded number of kills. ABS_CRASH_KILLS and ABS_CRASH_SEED change
# them.
. "$(dirname "$0")/lib.sh"
seed=${ABS_CRASH_SEED:-424300}
echo "crash campaign (control plane): first seed $seed"
sh "$ABS_TOP/tests/integration/crash_ctl.sh" "$ABS_BUILD" \
	"${ABS_CRASH_KILLS:-5}" "$seed"
