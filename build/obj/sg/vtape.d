build/obj/sg/vtape.o: sg/vtape.c common/crc32c.h common/util.h \
 sg/tsg_int.h sg/tsg.h sg/vtape.h
common/crc32c.h:
common/util.h:
sg/tsg_int.h:
sg/tsg.h:
sg/vtape.h:
