build/obj/sg/tsg.o: sg/tsg.c sg/tsg.h sg/tsg_int.h
sg/tsg.h:
sg/tsg_int.h:
