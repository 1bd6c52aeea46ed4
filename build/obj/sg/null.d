build/obj/sg/null.o: sg/null.c common/util.h sg/tsg_int.h sg/tsg.h
common/util.h:
sg/tsg_int.h:
sg/tsg.h:
