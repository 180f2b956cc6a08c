/* The PostgreSQL engine's face to db.c: its descriptor (db_engine.h). */
#ifndef COHORTD_DB_POSTGRESQL_H
#define COHORTD_DB_POSTGRESQL_H

#include "db_engine.h"

extern const struct db_engine db_engine_postgresql;

#endif
