/*
 * Named SCSI medium changer (SMC-3) commands, pages and element types, for
 * the changer API's SCSI backend and for anything that decodes a library's
 * answers. Opcodes are per device type: a changer's 2Bh is POSITION TO
 * ELEMENT, a tape drive's is LOCATE(10), so these never go through
 * tsg_timeout_ms(); SMC_TIMEOUT_* are theirs. SPC commands a changer also
 * takes (INQUIRY, TEST UNIT READY, MODE SENSE) are in sg/ssc.h.
 */
#ifndef ABS_SMC_H
#define ABS_SMC_H

#define SMC_INIT_ELEMENT_STATUS_CMD		0x07
#define SMC_INIT_ELEMENT_STATUS_CMDLEN		6
#define SMC_INIT_ELEMENT_STATUS_RANGE_CMD	0x37
#define SMC_INIT_ELEMENT_STATUS_RANGE_CMDLEN	10
#define SMC_POSITION_TO_ELEMENT_CMD		0x2b
#define SMC_POSITION_TO_ELEMENT_CMDLEN		10
#define SMC_MOVE_MEDIUM_CMD			0xa5
#define SMC_MOVE_MEDIUM_CMDLEN			12
#define SMC_EXCHANGE_MEDIUM_CMD			0xa6
#define SMC_EXCHANGE_MEDIUM_CMDLEN		12
#define SMC_READ_ELEMENT_STATUS_CMD		0xb8
#define SMC_READ_ELEMENT_STATUS_CMDLEN		12

/* SPC's MODE SENSE(10), for a changer without MODE SENSE(6). */
#define SPC_MODE_SENSE10_CMD			0x5a
#define SPC_MODE_SENSE10_CMDLEN			10

/* READ ELEMENT STATUS byte 1 flags (with the element type in bits 0-3). */
#define SMC_RES_VOLTAG		0x10	/* report volume tags (barcodes) */
/* READ ELEMENT STATUS byte 6: device identifiers of the drives. */
#define SMC_RES_DVCID		0x01

/* Element type codes (READ ELEMENT STATUS, element descriptors). */
#define SMC_ELEM_ALL		0x0
#define SMC_ELEM_TRANSPORT	0x1	/* the robot's picker */
#define SMC_ELEM_STORAGE	0x2	/* a slot */
#define SMC_ELEM_IMPORT_EXPORT	0x3	/* a mail slot */
#define SMC_ELEM_DATA_TRANSFER	0x4	/* a drive */

/* Element descriptor byte 2 flags. */
#define SMC_ED_FULL		0x01
#define SMC_ED_EXCEPT		0x04
#define SMC_ED_ACCESS		0x08
/* Element descriptor byte 9: SVALID, source element address follows. */
#define SMC_ED_SVALID		0x80
#define SMC_VOLTAG_LEN		36	/* primary volume tag: 32 + 4 bytes */

/* Mode pages. */
#define SMC_MP_ELEMENT_ADDRESS	0x1d	/* first address and count per type */
#define SMC_MP_TRANSPORT_GEOM	0x1e
#define SMC_MP_DEVICE_CAPS	0x1f	/* which moves the robot can do */

/* Peripheral device types in INQUIRY byte 0. */
#define SPC_PDT_TAPE		0x01
#define SPC_PDT_CHANGER		0x08

/* Additional sense a changer answers a move with (ILLEGAL REQUEST). */
#define SMC_ASC_INVALID_ELEMENT		0x21	/* ASCQ 01h */
#define SMC_ASCQ_INVALID_ELEMENT	0x01
#define SMC_ASC_MEDIUM_MOVE		0x3b
#define SMC_ASCQ_DEST_FULL		0x0d	/* destination element full */
#define SMC_ASCQ_SOURCE_EMPTY		0x0e	/* source element empty */
#define SMC_ASC_REMOVAL_PREVENTED	0x53	/* ASCQ 02h: drive holds it */
#define SMC_ASCQ_REMOVAL_PREVENTED	0x02

/* Timeouts: a move is seconds, a full inventory scan can be many minutes. */
#define SMC_TIMEOUT_MS			(60u * 1000)
#define SMC_TIMEOUT_MOVE_MS		(10u * 60 * 1000)
#define SMC_TIMEOUT_INVENTORY_MS	(60u * 60 * 1000)

#endif
