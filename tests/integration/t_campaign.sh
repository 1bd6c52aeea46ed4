# The randomized end-of-tape campaign, 200 runs (make campaign N=5000 for more).
. "$(dirname "$0")/lib.sh"
sh "$ABS_TOP/tests/integration/campaign.sh" "$ABS_BUILD" "${ABS_CAMPAIGN_RUNS:-200}"
