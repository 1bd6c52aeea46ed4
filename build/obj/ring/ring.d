build/obj/ring/ring.o: ring/ring.c ring/ring.h
ring/ring.h:
