# The randomized end-of-tape campaign, a slice of 60 runs from a random
# seed (ABS_CAMPAIGN_RUNS=N; make campaign N=5000 is the long one).
. "$(dirname "$0")/lib.sh"
sh "$ABS_TOP/tests/integration/campaign.sh" "$ABS_BUILD" "${ABS_CAMPAIGN_RUNS:-60}"
