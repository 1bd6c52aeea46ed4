/* abs-ctld: see control/ctld.c. */
#include "control/ctld.h"

int
main(int argc, char **argv)
{
	return ctld_main(argc, argv);
}
