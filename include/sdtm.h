/* The registry as CDISC SDTM datasets (SDTMIG 3.3): DM, EX, RS and its
 * supplemental qualifiers SUPPRS, AE, DS and the trial summary TS, each as
 * CSV or SAS transport version 5 (table_file.h), or all of them in one zip
 * with define.csv, a define-style listing of every dataset's variables.
 * Every dataset of one call comes from one snapshot of the database (a read
 * transaction on a connection of its own), read a batch of patients at a
 * time, so memory stays bounded whatever the registry's size; the files
 * themselves go to a temporary file the caller streams. Which variable
 * holds what, and why, is docs/sdtm.md. */
#ifndef COHORTD_SDTM_H
#define COHORTD_SDTM_H

#include <stdint.h>
#include <stdio.h>

#include "table_file.h"

/* The datasets, in the order of the listing and the zip. */
enum sdtm_domain { SDTM_DM, SDTM_EX, SDTM_RS, SDTM_SUPPRS, SDTM_AE, SDTM_DS, SDTM_TS, SDTM_COUNT };

/* The study's identifier (STUDYID, 1-20 of A-Z a-z 0-9 . _ -) and title
 * (TS's TITLE), from the command line; both copied. */
void sdtm_set_study(const char *id, const char *title);
/* Them, as set (FHIR's ResearchStudy carries them too). */
const char *sdtm_study_id(void);
const char *sdtm_study_title(void);
/* A dataset by its name (any case); -1 when none. */
int sdtm_domain_named(const char *name);
const char *sdtm_domain_name(enum sdtm_domain d);
/* The file a dataset is written to in format ("dm.xpt", "ae.csv"), or the
 * bundle's when domain is SDTM_COUNT ("sdtm.zip"). */
void sdtm_file_name(enum sdtm_domain domain, enum table_format format, char out[32]);

/* Writes one dataset into out (or every one, zipped, when domain is
 * SDTM_COUNT). Returns 0 or a DB_ code. */
int sdtm_write(enum sdtm_domain domain, enum table_format format, FILE *out);
/* The define-style listing of every dataset's variables, as CSV. */
int sdtm_write_define(FILE *out);

#endif
