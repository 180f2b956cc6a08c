/* What db.c and every engine both use: the shared head of a connection,
 * the promises asked of connections (durability, size quota), and the
 * health of writes (whether they get through, and when this process last
 * committed one). Kept apart so that an engine depends on this and db.c on
 * the engines, never round in a circle. */
#include <stdatomic.h>
#include <time.h>

#include "db_engine.h"

/* how long a good write vouches for the next: see db_check_writable */
#define WRITE_HEALTH_FRESH_SECONDS 10
/* while writes keep coming, workers keep no snapshot (db_for_thread) */
#define WRITES_QUIET_MS 100

void db_head_init(struct db *db, const struct db_engine *engine)
{
	db->engine = engine;
	pthread_mutex_init(&db->taken, NULL);
}

void db_head_free(struct db *db)
{
	pthread_mutex_destroy(&db->taken);
}

/* A transaction that a failed ROLLBACK left open (it too can run out of
 * memory) holds no one's work: it is rolled back before the next begins.
 * So is a worker's held read snapshot (db_for_thread). */
void db_end_leftover(struct db *db)
{
	db->holding = false;
	if (db->engine->in_transaction(db))
		db->engine->control(db, DB_ROLLBACK);
}

/* --- what every connection opened from now on is asked to promise ------ */

static enum db_durability durability = DB_DURABLE_NORMAL;
static long long max_size;

void db_set_durability(enum db_durability d)
{
	durability = d;
}

enum db_durability db_durability_wanted(void)
{
	return durability;
}

void db_set_max_size(long long bytes)
{
	max_size = bytes;
}

long long db_max_size(void)
{
	return max_size;
}

/* --- the health of writes ---------------------------------------------- */

/* Whether writes are getting through: set by every write that fails for
 * want of space or of write access, cleared by every commit that writes. */
static atomic_int write_health = DB_OK;
static atomic_llong write_health_at; /* CLOCK_MONOTONIC seconds of the last change */
static atomic_bool opened_read_only; /* for the process's life: see db_open */

static long long monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

void db_note_write_health(int status)
{
	atomic_store(&write_health, status);
	atomic_store(&write_health_at, monotonic_seconds());
}

int db_write_health(void)
{
	return atomic_load(&write_health);
}

bool db_write_health_fresh(void)
{
	long long at = atomic_load(&write_health_at);
	return atomic_load(&write_health) == DB_OK && at > 0 &&
	       monotonic_seconds() - at < WRITE_HEALTH_FRESH_SECONDS;
}

void db_note_opened_read_only(void)
{
	atomic_store(&opened_read_only, true);
}

bool db_opened_read_only(void)
{
	return atomic_load(&opened_read_only);
}

/* When this process last committed a write (CLOCK_MONOTONIC_COARSE ms). */
static atomic_llong last_commit_ms;

static long long coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void db_note_commit(void)
{
	db_note_write_health(DB_OK);
	atomic_store(&last_commit_ms, coarse_ms());
}

bool db_writes_recent(void)
{
	return coarse_ms() - atomic_load(&last_commit_ms) < WRITES_QUIET_MS;
}
