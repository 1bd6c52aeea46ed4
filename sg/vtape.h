/*
 * Virtual tape cartridges and libraries on disk (the administrative side of
 * the vtape: transport). A cartridge is a directory holding cart.conf and one
 * plain file per tape file (file000000, file000001, ...) plus a block index
 * (fileNNNNNN.idx). A library is a directory with library.conf, carts/,
 * slot links slotN -> carts/BARCODE and drive directories driveK/.
 */
#ifndef ABS_VTAPE_H
#define ABS_VTAPE_H

#include <stdbool.h>
#include <stddef.h>
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
/*
 * Moves, atomic against a crash at any point (a journal, a link renamed
 * into place; the next open or move of the library finishes or undoes an
 * interrupted one): -ERANGE no such slot or drive, -ENOENT source empty,
 * -EEXIST destination full, -ENOSPC no empty slot for an unload, -EBUSY
 * the drive or the cartridge is in use; why (len bytes) says more where
 * it can (who holds it).
 */
int vtape_load(const char *libdir, int slot, int drive, char *why, size_t len);
int vtape_unload(const char *libdir, int drive, char *why, size_t len);

/*
 * The library check: an interrupted move (finished or undone as its
 * journal and links say), temporary files, a cartridge in more than one
 * place (kept where its newest link is, a drive on a tie), a home file in
 * an empty drive, links that dangle or name no cartridge. Every open of a
 * library or of one of its drives, and every move, runs it with
 * VTAPE_REPAIR_CRASH (all but the last kind, which only VTAPE_REPAIR_ALL
 * removes). fn gets each finding; res counts them.
 */
enum vtape_repair { VTAPE_REPAIR_NONE, VTAPE_REPAIR_CRASH, VTAPE_REPAIR_ALL };
struct vtape_check {
	int found, repaired;
};
typedef void (*vtape_check_fn)(void *arg, const char *problem,
    const char *done, bool repaired);
int vtape_check(const char *libdir, enum vtape_repair repair,
    vtape_check_fn fn, void *arg, struct vtape_check *res);
/* Steps of a move, for the fault injection ABS_VTAPE_CRASH_STEP=N. */
#define VTAPE_MOVE_STEPS 8
int vtape_list(const char *libdir, FILE *out);
int vtape_show(const char *cartdir, FILE *out);
int vtape_inject(const char *cartdir, const struct vtape_fault *f);
/* Cartridge directory of a library slot (1-based) or drive; malloc'd. */
int vtape_slot_cart(const char *libdir, int slot, char **cartdir);
int vtape_drive_cart(const char *libdir, int drive, char **cartdir);

#endif
