/*
 * Named SCSI commands for tape drives: the SPC (primary) and SSC (stream)
 * opcodes the tape API sends and the vtape target answers, their CDB
 * lengths, the fields of them we set, the mode, log and VPD pages we use,
 * default timeouts by class of command, and the data direction of a
 * command. Named as sg3_utils names them (sg_cmds_basic.c: MODE_SENSE6_CMD,
 * MODE_SENSE6_CMDLEN), with an SPC_ or SSC_ prefix because glibc's
 * <scsi/scsi.h> already owns the bare names (READ_6, WRITE_6, ...).
 * Medium changer (SMC) commands are in sg/smc.h.
 */
#ifndef ABS_SSC_H
#define ABS_SSC_H

#include <stdint.h>

/* Which way a command's data moves (the values are the old 0/1/2). */
enum tsg_dir {
	TSG_DIR_NONE = 0,	/* no data phase */
	TSG_DIR_TO_DEV = 1,	/* data out: WRITE, MODE SELECT */
	TSG_DIR_FROM_DEV = 2,	/* data in: READ, INQUIRY, MODE SENSE ... */
};

/* ---- SPC: commands every device takes ---- */
#define SPC_TEST_UNIT_READY_CMD		0x00
#define SPC_TEST_UNIT_READY_CMDLEN	6
#define SPC_REQUEST_SENSE_CMD		0x03
#define SPC_REQUEST_SENSE_CMDLEN	6
#define SPC_INQUIRY_CMD			0x12
#define SPC_INQUIRY_CMDLEN		6
#define SPC_MODE_SELECT6_CMD		0x15
#define SPC_MODE_SELECT6_CMDLEN		6
#define SPC_MODE_SENSE6_CMD		0x1a
#define SPC_MODE_SENSE6_CMDLEN		6
#define SPC_PREVENT_ALLOW_CMD		0x1e	/* PREVENT ALLOW MEDIUM REMOVAL */
#define SPC_PREVENT_ALLOW_CMDLEN	6
#define SPC_LOG_SENSE_CMD		0x4d
#define SPC_LOG_SENSE_CMDLEN		10
#define SPC_READ_ATTRIBUTE_CMD		0x8c
#define SPC_READ_ATTRIBUTE_CMDLEN	16

/* ---- SSC: sequential-access (tape) commands ---- */
#define SSC_REWIND_CMD			0x01
#define SSC_REWIND_CMDLEN		6
#define SSC_READ_BLOCK_LIMITS_CMD	0x05
#define SSC_READ_BLOCK_LIMITS_CMDLEN	6
#define SSC_READ6_CMD			0x08
#define SSC_READ6_CMDLEN		6
#define SSC_WRITE6_CMD			0x0a
#define SSC_WRITE6_CMDLEN		6
#define SSC_WRITE_FILEMARKS6_CMD	0x10
#define SSC_WRITE_FILEMARKS6_CMDLEN	6
#define SSC_SPACE6_CMD			0x11
#define SSC_SPACE6_CMDLEN		6
#define SSC_VERIFY6_CMD			0x13
#define SSC_VERIFY6_CMDLEN		6
#define SSC_ERASE6_CMD			0x19
#define SSC_ERASE6_CMDLEN		6
#define SSC_LOAD_UNLOAD_CMD		0x1b
#define SSC_LOAD_UNLOAD_CMDLEN		6
#define SSC_LOCATE10_CMD		0x2b
#define SSC_LOCATE10_CMDLEN		10
#define SSC_READ_POSITION_CMD		0x34
#define SSC_READ_POSITION_CMDLEN	10
#define SSC_LOCATE16_CMD		0x92
#define SSC_LOCATE16_CMDLEN		16
/* VERIFY(10) (SBC): not sent by us; timed as a data command if it comes. */
#define SBC_VERIFY10_CMD		0x2f

/* ---- fields of those CDBs ---- */
#define SSC_FIXED		0x01	/* READ/WRITE(6) byte 1: fixed blocks */
#define SSC_SILI		0x02	/* READ(6) byte 1: suppress ILI */
#define SSC_IMMED		0x01	/* WRITE FILEMARKS byte 1 */
#define SSC_LOAD		0x01	/* LOAD UNLOAD byte 4 */
#define SSC_VLBPM		0x10	/* VERIFY(6) byte 1: check protection */
#define SSC_RP_SHORT		0x00	/* READ POSITION service actions */
#define SSC_RP_SHORT_VENDOR	0x01
#define SSC_RP_LONG		0x06
#define SPC_INQUIRY_EVPD	0x01	/* INQUIRY byte 1 */
#define SPC_VPD_UNIT_SERIAL	0x80	/* VPD page: unit serial number */
#define SPC_MODE_SELECT_PF	0x10	/* MODE SELECT byte 1: page format */
#define SPC_MODE_SENSE_DBD	0x08	/* MODE SENSE byte 1: no block desc. */
#define SPC_MODE_SPF		0x40	/* mode page byte 0: subpage format */
#define SPC_LOG_PC_CUMULATIVE	0x40	/* LOG SENSE byte 2: PC=01b */

/* Mode pages (page, subpage) the tape API sets or reads. */
#define SSC_MP_DEV_CONFIG		0x10	/* device configuration */
#define SSC_MP_DEV_CONFIG_EXT_SUB	0x01	/* its extension: PEWS */
#define SSC_MP_CONTROL_DP		0x0a	/* control, data protection */
#define SSC_MP_CONTROL_DP_SUB		0xf0
#define SPC_MP_ALL			0x3f	/* every page */
#define SPC_MP_ALL_SUB			0xff	/* every subpage */
#define SSC_LBP_CRC32C			0x02	/* LBP method: CRC32C, 4 bytes */

/* Log pages. */
#define SPC_LP_SUPPORTED	0x00
#define SPC_LP_WRITE_ERRORS	0x02
#define SPC_LP_READ_ERRORS	0x03
#define SSC_LP_TAPEALERT	0x2e
/* Error counter parameter codes (pages 02h/03h). */
#define SPC_LP_CORRECTED	0x0003
#define SPC_LP_BYTES		0x0005
#define SPC_LP_UNCORRECTED	0x0006

/* MAM attributes (READ ATTRIBUTE). */
#define SPC_MAM_MEDIUM_SERIAL	0x0401
#define SPC_MAM_BARCODE		0x0806

/* Additional sense the engine acts on (with any sense key). */
#define SPC_ASC_MEDIUM_NOT_PRESENT	0x3a

/* ---- timeouts by class (LTFS and sg3_utils use the same split) ---- */
#define TSG_TIMEOUT_MS		(60u * 1000)	/* inquiry, mode, log ... */
#define TSG_TIMEOUT_DATA_MS	(15u * 60 * 1000) /* READ, WRITE, FILEMARKS, VERIFY */
#define TSG_TIMEOUT_MOTION_MS	(60u * 60 * 1000) /* REWIND, SPACE, LOAD, LOCATE, ERASE:
						     an hour on a full LTO */

/* Milliseconds a command with this opcode may take. */
static inline unsigned
tsg_timeout_ms(uint8_t op)
{
	switch (op) {
	case SSC_WRITE6_CMD: case SSC_READ6_CMD: case SSC_WRITE_FILEMARKS6_CMD:
	case SSC_VERIFY6_CMD: case SBC_VERIFY10_CMD:
		return TSG_TIMEOUT_DATA_MS;
	case SSC_REWIND_CMD: case SSC_SPACE6_CMD: case SSC_LOAD_UNLOAD_CMD:
	case SSC_LOCATE10_CMD: case SSC_LOCATE16_CMD: case SSC_ERASE6_CMD:
		return TSG_TIMEOUT_MOTION_MS;
	default:
		return TSG_TIMEOUT_MS;
	}
}

#endif
