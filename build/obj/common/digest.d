build/obj/common/digest.o: common/digest.c common/digest.h common/util.h
common/digest.h:
common/util.h:
