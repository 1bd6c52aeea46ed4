/*
 * Virtual tape cartridges and libraries on disk (the administrative side of
 * the vtape: transport). A cartridge is a directory holding cart.conf and one
 * plain file per tape file (file000000, file000001, ...) plus a block index
 * (fileNNNNNN.idx). A library is a directory with library.conf, carts/,
 * slot links slotN -> carts/BARCODE and drive directories driveK/.
 */
#ifndef ABS_VTAPE_H
#define ABS_VTAPE_H

#include <stdint.h>
#include <stdio.h>

struct vtape_fault {
	int write_protect;		/* -1 leave, 0 clear, 1 set */
	int64_t medium_error_at;	/* logical object number, -1 none */
	int64_t corrupt_write_at;	/* flip a byte silently when writing it */
	int tapealert;			/* flag 1..64 to raise, 0 none */
	int clear;			/* drop all medium errors and flags */
};

int vtape_cart_create(const char *dir, const char *barcode, uint64_t capacity,
    uint64_t early_warning);
int vtape_library_create(const char *dir, int slots, int drives,
    uint64_t capacity, uint64_t early_warning, const char *prefix);
/* Slots and drives of a library; -ENOTDIR if dir is not a library. */
int vtape_library_info(const char *libdir, int *slots, int *drives);
int vtape_load(const char *libdir, int slot, int drive);
int vtape_unload(const char *libdir, int drive);
int vtape_list(const char *libdir, FILE *out);
int vtape_show(const char *cartdir, FILE *out);
int vtape_inject(const char *cartdir, const struct vtape_fault *f);
/* Cartridge directory of a library slot (1-based) or drive; malloc'd. */
int vtape_slot_cart(const char *libdir, int slot, char **cartdir);
int vtape_drive_cart(const char *libdir, int drive, char **cartdir);

#endif
