build/obj/sg/vtape_lib.o: sg/vtape_lib.c common/util.h sg/vtape.h
common/util.h:
sg/vtape.h:
