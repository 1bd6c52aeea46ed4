build/obj/sg/null.o: sg/null.c sg/tsg_int.h sg/tsg.h
sg/tsg_int.h:
sg/tsg.h:
