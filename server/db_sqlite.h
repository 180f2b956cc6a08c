/* The SQLite engine's face to db.c: its descriptor (db_engine.h). */
#ifndef COHORTD_DB_SQLITE_H
#define COHORTD_DB_SQLITE_H

#include "db_engine.h"

extern const struct db_engine db_engine_sqlite;

#endif
