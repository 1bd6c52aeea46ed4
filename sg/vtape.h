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

#include "sg/tsg.h"

struct vtape_fault {
	int write_protect;		/* -1 leave, 0 clear, 1 set */
	int64_t medium_error_at;	/* logical object number, -1 none */
	int64_t corrupt_write_at;	/* flip a byte silently when writing it */
	int tapealert;			/* flag 1..64 to raise, 0 none */
	int clear;			/* drop all medium errors and flags */
};

int vtape_cart_create(const char *dir, const char *barcode, uint64_t capacity,
    uint64_t early_warning);
/*
 * A library's library.conf: its elements, the cartridges it makes, and its
 * serial number (drive K's serial is the library's followed by "D" and K:
 * what INQUIRY page 80h of vtape:LIB/driveK and the changer's DVCID say).
 * A library made before serials were kept has one derived from its path.
 */
#define VTAPE_MAX_SLOTS 9999
#define VTAPE_MAX_DRIVES 64
#define VTAPE_MAX_PORTALS 64
#define VTAPE_SERIAL_LEN 24	/* at most, without the NUL */
#define VTAPE_BARCODE_MAX 32	/* a volume tag's 32 characters */
struct vtape_library {
	int slots, drives, portals;
	uint64_t capacity, early_warning;
	char prefix[17];
	char serial[VTAPE_SERIAL_LEN + 1];
};
int vtape_library_create(const char *dir, int slots, int drives,
    uint64_t capacity, uint64_t early_warning, const char *prefix);
/* The same with import/export elements (portals) and all the fields. */
int vtape_library_new(const char *dir, const struct vtape_library *lib);
/* Slots and drives of a library; -ENOTDIR if dir is not a library. */
int vtape_library_info(const char *libdir, int *slots, int *drives);
/*
 * Read library.conf: -ENOTDIR when there is none, -EINVAL (logged, with
 * the line) when a field is unknown, repeated or out of range.
 */
int vtape_library_read(const char *libdir, struct vtape_library *lib);
/* Parse library.conf's text; err says what is wrong (fuzzed). */
int vtape_library_parse(const char *text, size_t len,
    struct vtape_library *lib, char *err, size_t errlen);
/* The serial number of drive K of lib into buf (VTAPE_SERIAL_LEN + 8). */
void vtape_drive_serial(const struct vtape_library *lib, int drive,
    char *buf, size_t len);
/* The serial of the library drive at drive_path (LIB/driveK); -ENODEV. */
int vtape_drive_serial_of(const char *drive_path, char *buf, size_t len);
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
int vtape_portal_cart(const char *libdir, int portal, char **cartdir);

/*
 * ---- The library's robot and its faults ----
 * What the SMC transport (sg/vtape_smc.c, vtape:LIBDIR opened as a device)
 * answers from, and what abs-vtape's fault, door, import and export
 * commands change. The robot's state lives in LIBDIR/changer.conf beside
 * library.conf: a UNIT ATTENTION pending (a door was opened), PREVENT
 * MEDIUM REMOVAL, and injected faults: the next N moves fail (HARDWARE
 * ERROR 15/01, a positioning error, or 53/00, a jam), the next N commands
 * answered NOT READY 04/01 (becoming ready), READ ELEMENT STATUS refusing
 * DVCID or VolTag (24/00, as changers without them do), slots that jam
 * (every move from or to them fails 04/53/00, their element EXCEPT with
 * 53/00, not ACCESSible), cartridges whose barcode label the robot cannot
 * read (by barcode: unreadable wherever the cartridge goes).
 */
#define VTAPE_LIB_VENDOR "ABS"
#define VTAPE_LIB_PRODUCT "VTAPE LIBRARY"
#define VTAPE_ADDR_ROBOT 1
#define VTAPE_ADDR_PORTAL 16
#define VTAPE_ADDR_DRIVE 256
#define VTAPE_ADDR_SLOT 4096
#define VTAPE_MAX_FAULTS 64
#define VTAPE_SMC_JAM_ASC 0x53		/* MEDIA LOAD OR EJECT FAILED */
#define VTAPE_SMC_POSITION_ASC 0x15	/* 15/01 MECHANICAL POSITIONING */
#define VTAPE_SMC_POSITION_ASCQ 0x01

struct vtape_changer_state {
	bool attention;		/* UNIT ATTENTION 28/00 for the next command */
	bool prevent;		/* PREVENT MEDIUM REMOVAL: portals locked */
	unsigned move_fail;	/* the next N moves fail ... */
	bool move_fail_jam;	/* ... as a jam, else a positioning error */
	unsigned not_ready;	/* the next N commands: NOT READY 04/01 */
	/* READ ELEMENT STATUS with DVCID, with VolTag: refused 24/00 */
	bool refuse_dvcid, refuse_voltag;
	unsigned njam, jam_slot[VTAPE_MAX_FAULTS];
	unsigned nunreadable;
	char unreadable[VTAPE_MAX_FAULTS][VTAPE_BARCODE_MAX + 1];
	uint64_t impexp;	/* bit N-1: portal N's cartridge came from outside */
};
/* Read changer.conf (none: all clear); -EINVAL (logged) when bad. */
int vtape_changer_read(const char *libdir, const struct vtape_library *lib,
    struct vtape_changer_state *s);
/* Parse changer.conf's text against lib's geometry (fuzzed). */
int vtape_changer_parse(const char *text, size_t len,
    const struct vtape_library *lib, struct vtape_changer_state *s,
    char *err, size_t errlen);

/*
 * Every element as the robot reports it, addressed as above: the robot,
 * slots, portals and drives in number order (*elems malloc'd), faults
 * applied, drives with their serial as identifier.
 */
int vtape_robot_elements(const char *libdir, struct tsg_element **elems,
    size_t *n);
/*
 * MOVE MEDIUM: 0, TSG_CHECK with st the sense a changer answers (21/01,
 * 3B/0E, 3B/0D, 53/02 drive in use or portal locked, the injected
 * HARDWARE ERRORs), or a negative errno (st says so) when the library
 * cannot be read.
 */
int vtape_robot_move(const char *libdir, enum tsg_elem_type from_type,
    unsigned from, enum tsg_elem_type to_type, unsigned to,
    struct tsg_status *st);
/* A UNIT ATTENTION pending: 1 (and taken: the next command sees none), 0. */
int vtape_robot_attention(const char *libdir);
/*
 * What the next command hears instead of its answer, taken: a UNIT
 * ATTENTION (a door), else NOT READY 04/01 (becoming ready), else none.
 */
enum { VTAPE_PENDING_NONE, VTAPE_PENDING_ATTENTION, VTAPE_PENDING_NOT_READY };
int vtape_robot_pending(const char *libdir);
int vtape_robot_prevent(const char *libdir, bool prevent);
/* INITIALIZE ELEMENT STATUS: the library check, repairing a crash's leftovers. */
int vtape_robot_scan(const char *libdir);

struct vtape_changer_fault {
	int move_fail;		/* -1 leave; else the next N moves fail */
	bool jam;		/* ... as a jam */
	int not_ready;		/* -1 leave; else the next N commands: 04/01 */
	bool refuse_dvcid;	/* READ ELEMENT STATUS refuses DVCID (24/00) */
	bool refuse_voltag;	/* ... and VolTag */
	unsigned jam_slot;	/* 0 none: that slot jams */
	unsigned unreadable_slot;	/* 0 none: its cartridge's label */
	bool clear;		/* every fault dropped first */
};
/* Change the injected faults; why says what was wrong (-EINVAL, -ENOENT). */
int vtape_changer_fault(const char *libdir, const struct vtape_changer_fault *f,
    char *why, size_t len);
/* Whether READ ELEMENT STATUS refuses DVCID, VolTag (changer.conf). */
int vtape_robot_refuses(const char *libdir, bool *dvcid, bool *voltag);
/* The robot's state and faults for people. */
int vtape_changer_show(const char *libdir, FILE *out);
/* The operator opened and closed the door: UNIT ATTENTION 28/00 next. */
int vtape_door(const char *libdir);
/*
 * The operator puts cartridges into free portals (or with to_slots into
 * free slots): one known to the library but in no element comes back, an
 * unknown barcode is a new blank cartridge of the library's size; then the
 * door closes (UNIT ATTENTION). -EPERM portals locked (PREVENT), -ENOSPC
 * no free element, -EEXIST the barcode is in the library already, -EINVAL
 * a bad barcode; why says which. Nothing is put in unless all fit.
 */
int vtape_import(const char *libdir, char *const *barcodes, int n,
    bool to_slots, char *why, size_t len);
/*
 * The operator takes the cartridges out of portals (portal 0: every
 * portal): they stay in carts/ but in no element (import brings them
 * back). -EPERM when the portals are locked.
 */
int vtape_export(const char *libdir, int portal, FILE *out, char *why,
    size_t len);

#endif
