/* The PostgreSQL engine (libpq), behind struct db_engine: `--db` takes any
 * libpq connection string or URI (postgresql://..., postgres://..., or
 * "host=... dbname=..."). The store's SQL is written once in the dialect
 * both engines share, with ?N parameters; here they become $N, each bound
 * with the type of what was bound (bigint, double precision, text); a
 * statement is prepared on the server at its first run on a connection
 * and executed by name after that, its rows then read one by one. The only
 * file that includes libpq-fe.h.
 *
 * What SQLite gives and PostgreSQL does not, made here:
 * - an insert with no id takes the next (AUTOINCREMENT): the id column of
 *   an insert is COALESCE($n, nextval(...)), and its id is returned;
 * - ids inserted as given move the next id past them (sqlite_sequence);
 * - BEGIN IMMEDIATE: a write transaction takes a transaction-scoped
 *   advisory lock first, so that writers through several processes append
 *   to one audit chain in turn; a writer that commits as it goes (an
 *   import) holds the same lock for its session from its first commit to
 *   its end;
 * - PRAGMA user_version: the table cohortd_schema. */
#include <libpq-fe.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_postgresql.h"
#include "log.h"
#include "util.h"

/* the advisory lock every write transaction takes: "cohortd" in ASCII */
#define WRITER_LOCK_KEY 27988517031408740
#define STMT_CACHE_SIZE 64
#define RUN_UNPIPED     1 /* run_piped could not pipeline: run it the usual way */
#define QUEUE_MAX       8
#define INT8OID         20
#define TEXTOID         25
#define FLOAT8OID       701

struct pg_db;

struct pg_stmt {
	struct db_stmt head;
	struct pg_db *db;
	const char *key; /* the caller's pointer, for SQL that lives as long as the process */
	char *sql;       /* as given, ?N */
	char *pg_sql;    /* $N */
	int nparams;     /* the highest ?N */
	char **values;   /* bound, as text; NULL for NULL */
	unsigned *types;
	bool *unused;  /* ?N that the SQL does not name: typed text, or PostgreSQL cannot tell */
	char name[24]; /* the server's prepared statement, "" until the first run */
	PGresult *res;
	int row, nrows;
	bool ran;
	/* pg_step_ahead: queued and not sent yet (ahead); its result kept or
	 * its failure (failed, a DB_ code) when its pipeline ran; never
	 * evicted from the cache until db_done (pinned) */
	bool ahead, pinned;
	int failed;
	uint64_t last_used;
};

/* A statement not yet sent: it goes with the next one (run_piped). */
struct queued {
	const char *sql; /* a savepoint's, as it is; else a prepared statement: */
	char name[24];
	int nparams;
	char **values;         /* its parameters, owned */
	struct pg_stmt *ahead; /* its result is read: kept in that statement (pg_step_ahead) */
};

struct pg_db {
	struct db head;
	PGconn *conn;
	struct pg_stmt cache[STMT_CACHE_SIZE];
	uint64_t clock;
	uint64_t prepared; /* prepared statements named so far: each name is new */
	int64_t changes, last_id;
	char error[512];
	bool lost_logged; /* the server is gone, and the log was told */
	/* What is not sent yet: the shared writer's savepoints and the
	 * statements whose results no one reads (pg_step_unread), and on a
	 * connection of its own a read sent ahead (pg_step_ahead). They go with
	 * the next statement, in one round trip: a write's RELEASE and the next
	 * write's SAVEPOINT ride with that write's first read, a write's record
	 * count with its next read. A write's unread statements are all sent by
	 * its RELEASE at the latest, so that their failure is that write's. */
	struct queued queued[QUEUE_MAX];
	int nqueued;
};

static struct pg_db *pg(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *st(struct db_stmt *stmt)
{
	return (struct pg_stmt *)stmt;
}

/* Maps a result to a DB_ code, keeping the message for last_error. */
static int status_of(struct pg_db *db, PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
		return DB_OK;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
	snprintf(db->error, sizeof db->error, "%s", msg ? msg : "");
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* the server went away (stopped, failed over, restarting): 503 with
	 * Retry-After; the connection is made again at its next transaction */
	if (PQstatus(db->conn) != CONNECTION_OK ||
	    (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
		       strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)))
		return DB_BUSY;
	if (!state)
		return DB_ERROR;
	int status;
	if (strcmp(state, "23505") == 0)
		return DB_CONFLICT;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_BUSY;
	if (strcmp(state, "53100") == 0) {
		status = DB_FULL;
	} else if (strcmp(state, "25006") == 0) {
		status = DB_READONLY;
	} else {
		/* a statement the engine should not have been given: say which */
		log_write(LOG_WARN, "PostgreSQL refused a statement",
			  json_pack("{s:s, s:s}", "sqlstate", state, "error", db->error));
		return DB_ERROR;
	}
	db_note_write_health(status);
	return status;
}

static int run_piped(struct pg_db *db, struct pg_stmt *s, const char *sql);

/* An ahead statement's answer, now that its pipeline has run: its result,
 * or rc (not DB_OK) for its failure. */
static void ahead_answered(struct pg_stmt *s, PGresult *res, int rc)
{
	s->ahead = false;
	s->ran = true;
	s->row = -1;
	s->failed = rc;
	s->res = rc == DB_OK ? res : NULL;
	s->nrows = s->res ? PQntuples(s->res) : 0;
	if (rc != DB_OK)
		PQclear(res);
}

/* Are some of what is queued prepared statements (not savepoints only)? */
static bool queued_prepared(const struct pg_db *db)
{
	for (int i = 0; i < db->nqueued; i++)
		if (!db->queued[i].sql)
			return true;
	return false;
}

static void queued_free(struct queued *q)
{
	for (int k = 0; q->values && k < q->nparams; k++)
		free(q->values[k]);
	free(q->values);
}

/* Queues prepared statement s, its parameters moved there: unread, or
 * ahead (its result kept in s). False when it cannot wait. */
static bool queue_prepared(struct pg_db *db, struct pg_stmt *s, bool ahead)
{
	char **values = db->nqueued < QUEUE_MAX && s->name[0]
				? xcalloc((size_t)s->nparams + 1, sizeof *values)
				: NULL;
	if (!values)
		return false;
	struct queued *q = &db->queued[db->nqueued++];
	*q = (struct queued){.nparams = s->nparams, .values = values, .ahead = ahead ? s : NULL};
	memcpy(q->name, s->name, sizeof q->name);
	for (int i = 0; i < s->nparams; i++) {
		values[i] = s->values[i];
		s->values[i] = NULL;
	}
	return true;
}

/* Forgets what is queued: all of it (sent, or the connection closing), or
 * only the unread statements (rolled back to a savepoint sent or queued
 * before them, they are moot). A read ahead is its caller's to answer. */
static void queue_drop(struct pg_db *db, bool unread_only)
{
	int kept = 0;
	for (int i = 0; i < db->nqueued; i++) {
		struct queued *q = &db->queued[i];
		if (unread_only && (q->sql || q->ahead))
			db->queued[kept++] = *q;
		else
			queued_free(q);
	}
	db->nqueued = kept;
}

/* Takes a read ahead that was never sent out of the queue. */
static void queue_forget(struct pg_db *db, struct pg_stmt *s)
{
	for (int i = 0; i < db->nqueued; i++) {
		struct queued *q = &db->queued[i];
		if (q->ahead != s)
			continue;
		queued_free(q);
		memmove(q, q + 1, (size_t)(db->nqueued - i - 1) * sizeof *q);
		db->nqueued--;
		break;
	}
	s->ahead = false;
}

/* Runs one command without parameters, after what is queued, in one round
 * trip: savepoints only, joined to it (the simple protocol runs them in
 * order and stops at the first that fails, whose error is the answer);
 * with unread statements, in a pipeline (a command of several statements
 * then follows it). */
static int exec(struct db *db, const char *sql)
{
	struct pg_db *d = pg(db);
	char joined[512];
	if (queued_prepared(d)) {
		int rc = run_piped(d, NULL, strchr(sql, ';') ? NULL : sql);
		if (rc != RUN_UNPIPED && (rc != DB_OK || !strchr(sql, ';')))
			return rc;
	} else if (d->nqueued) {
		size_t used = 0;
		for (int i = 0; i < d->nqueued; i++)
			used += (size_t)snprintf(joined + used, sizeof joined - used, "%s; ",
						 d->queued[i].sql);
		snprintf(joined + used, sizeof joined - used, "%s", sql);
		d->nqueued = 0;
		sql = joined;
	}
	PGresult *res = PQexec(d->conn, sql);
	int rc = status_of(d, res);
	PQclear(res);
	return rc;
}

/* Sends what is queued on its own, before a command that cannot carry it. */
static int flush_queued(struct pg_db *db)
{
	return db->nqueued ? run_piped(db, NULL, NULL) : DB_OK;
}

static const char *pg_last_error(struct db *db)
{
	return db ? pg(db)->error : "database not open";
}

static bool pg_in_transaction(struct db *db)
{
	PGTransactionStatusType t = PQtransactionStatus(pg(db)->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* --- connections ------------------------------------------------------- */

static bool pg_claims(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
	       strncmp(target, "postgres://", 11) == 0 || strstr(target, "dbname=") != NULL ||
	       strstr(target, "host=") != NULL;
}

static void stmt_clear(struct pg_stmt *s)
{
	if (s->ahead)
		queue_forget(s->db, s);
	s->pinned = false;
	s->failed = DB_OK;
	PQclear(s->res);
	s->res = NULL;
	s->ran = false;
	s->row = s->nrows = 0;
	for (int i = 0; i < s->nparams; i++) {
		free(s->values[i]);
		s->values[i] = NULL;
		s->types[i] = s->unused[i] ? TEXTOID : 0;
	}
}

static void stmt_free(struct pg_stmt *s)
{
	stmt_clear(s);
	if (s->name[0] && s->db) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		exec(&s->db->head, sql); /* after what is queued; its answer does not matter */
	}
	free(s->sql);
	free(s->pg_sql);
	free(s->values);
	free(s->types);
	free(s->unused);
	memset(s, 0, sizeof *s);
}

static void pg_close(struct db *head)
{
	if (!head)
		return;
	struct pg_db *db = pg(head);
	queue_drop(db, false);
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		db->cache[i].name[0] = '\0'; /* the session's end drops them all */
		stmt_free(&db->cache[i]);
	}
	PQfinish(db->conn);
	db_head_free(head);
	free(db);
}

/* Notices (a table that exists already, ...) are not the log's business. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What every session is set to, at its start and again when it is made
 * anew: UTF8 required, ISO dates in UTC, the durability asked for. */
static int session_setup(struct pg_db *db)
{
	PQsetNoticeProcessor(db->conn, quiet, NULL);
	/* lengths are counted in characters, as the contract's are */
	const char *encoding = PQparameterStatus(db->conn, "server_encoding");
	if (!encoding || strcmp(encoding, "UTF8") != 0) {
		log_write(LOG_ERROR,
			  "the PostgreSQL database is not UTF8: create it with ENCODING 'UTF8'",
			  json_pack("{s:s}", "server_encoding", encoding ? encoding : "unknown"));
		return DB_ERROR;
	}
	PQsetClientEncoding(db->conn, "UTF8");
	bool full = db_durability_wanted() == DB_DURABLE_FULL;
	int rc = exec(&db->head,
		      full ? "SET synchronous_commit = on" : "SET synchronous_commit = off");
	if (rc == DB_OK)
		rc = exec(&db->head, "SET DateStyle = ISO; SET TimeZone = 'UTC'; "
				     "SET lock_timeout = '5s'; SET client_min_messages = warning");
	return rc;
}

static int pg_open(const char *target, struct db **out)
{
	struct pg_db *db = xcalloc(1, sizeof *db);
	if (!db)
		return DB_ERROR;
	db_head_init(&db->head, &db_engine_postgresql);
	db->conn = PQconnectdb(target);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_write(LOG_ERROR, "cannot connect to PostgreSQL",
			  json_pack("{s:s}", "error", PQerrorMessage(db->conn)));
		pg_close(&db->head);
		return DB_ERROR;
	}
	int rc = session_setup(db);
	if (rc != DB_OK) {
		pg_close(&db->head);
		return rc;
	}
	*out = &db->head;
	return DB_OK;
}

/* A connection whose server went away (a restart, a failover) is made
 * again before its next transaction, with the same connection string: a
 * multi-host one with target_session_attrs=read-write finds the new
 * primary by itself. Until one answers, each attempt fails at once (DB_BUSY:
 * 503 with Retry-After). The new session has none of the old one's
 * prepared statements. */
static int reconnect_if_lost(struct pg_db *db)
{
	if (PQstatus(db->conn) == CONNECTION_OK)
		return DB_OK;
	for (int i = 0; i < db->nqueued; i++)
		if (db->queued[i].ahead)
			ahead_answered(db->queued[i].ahead, NULL, DB_BUSY);
	queue_drop(db, false); /* the new session has not prepared them */
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		snprintf(db->error, sizeof db->error, "%s", PQerrorMessage(db->conn));
		if (!db->lost_logged)
			log_write(LOG_WARN,
				  "PostgreSQL cannot be reached; trying again at each request",
				  json_pack("{s:s}", "error", db->error));
		db->lost_logged = true;
		return DB_BUSY;
	}
	db->lost_logged = false;
	for (int i = 0; i < STMT_CACHE_SIZE; i++)
		db->cache[i].name[0] = '\0'; /* prepared again at their next run */
	int rc = session_setup(db);
	log_write(rc == DB_OK ? LOG_WARN : LOG_ERROR,
		  rc == DB_OK ? "connected to PostgreSQL again"
			      : "connected to PostgreSQL again, but could not set the session up",
		  json_pack("{s:s, s:s}", "host", PQhost(db->conn) ? PQhost(db->conn) : "", "port",
			    PQport(db->conn) ? PQport(db->conn) : ""));
	return rc == DB_OK ? DB_OK : DB_BUSY;
}

/* --- statements -------------------------------------------------------- */

/* ?N to $N, outside quotes; the highest N into *nparams, and each N seen
 * marked in used (when given: up to MAX_MARKED). */
#define MAX_MARKED 4096
static char *dollars(const char *sql, int *nparams, bool *used)
{
	struct strbuf sb = {0};
	bool quoted = false;
	*nparams = 0;
	int next = 0; /* a bare ? is the next one */
	for (const char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (quoted || *p != '?') {
			strbuf_append(&sb, p, 1);
			continue;
		}
		int n = 0;
		while (p[1] >= '0' && p[1] <= '9')
			n = n * 10 + (*++p - '0');
		if (n == 0)
			n = next + 1;
		next = n;
		if (n > *nparams)
			*nparams = n;
		if (used && n <= MAX_MARKED)
			used[n - 1] = true;
		strbuf_printf(&sb, "$%d", n);
	}
	return strbuf_steal(&sb);
}

static struct pg_stmt *prepare(struct pg_db *db, const char *sql, const char *key)
{
	struct pg_stmt *slot = NULL;
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		struct pg_stmt *c = &db->cache[i];
		if (c->sql && ((key && c->key == key) || strcmp(c->sql, sql) == 0)) {
			c->last_used = ++db->clock;
			if (key)
				c->key = key;
			return c;
		}
		if (!c->pinned && (!slot || c->last_used < slot->last_used))
			slot = c; /* a read ahead stays until it is done */
	}
	if (!slot)
		return NULL;
	stmt_free(slot);
	int nparams = 0;
	bool *used = xcalloc(MAX_MARKED, sizeof *used);
	slot->sql = xstrdup(sql);
	slot->pg_sql = used ? dollars(sql, &nparams, used) : NULL;
	slot->nparams = nparams;
	slot->values = xcalloc((size_t)nparams + 1, sizeof *slot->values);
	slot->types = xcalloc((size_t)nparams + 1, sizeof *slot->types);
	slot->unused = xcalloc((size_t)nparams + 1, sizeof *slot->unused);
	if (!slot->sql || !slot->pg_sql || !slot->values || !slot->types || !slot->unused) {
		free(used);
		stmt_free(slot);
		return NULL;
	}
	for (int i = 0; i < nparams; i++)
		slot->unused[i] = i >= MAX_MARKED || !used[i];
	free(used);
	slot->key = key;
	slot->db = db;
	slot->head.engine = &db_engine_postgresql;
	slot->last_used = ++db->clock;
	return slot;
}

static struct db_stmt *pg_prepare(struct db *db, const char *sql, bool is_static)
{
	struct pg_stmt *s = prepare(pg(db), sql, is_static ? sql : NULL);
	if (s)
		stmt_clear(s);
	return s ? &s->head : NULL;
}

static void bind(struct db_stmt *stmt, int i, char *text, unsigned type)
{
	struct pg_stmt *s = st(stmt);
	if (i < 1 || i > s->nparams) {
		free(text);
		return;
	}
	free(s->values[i - 1]);
	s->values[i - 1] = text;
	s->types[i - 1] = s->unused[i - 1] ? TEXTOID : type;
}

static void pg_bind_int(struct db_stmt *stmt, int i, int64_t v)
{
	bind(stmt, i, xasprintf("%lld", (long long)v), INT8OID);
}

static void pg_bind_real(struct db_stmt *stmt, int i, double v)
{
	bind(stmt, i, xasprintf("%.17g", v), FLOAT8OID);
}

static void pg_bind_text(struct db_stmt *stmt, int i, const char *s, size_t n)
{
	if (!s) { /* as SQLite binds it */
		bind(stmt, i, NULL, 0);
		return;
	}
	char *copy = xmalloc(n + 1);
	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	bind(stmt, i, copy, TEXTOID);
}

static void pg_bind_null(struct db_stmt *stmt, int i)
{
	bind(stmt, i, NULL, 0);
}

/* What is queued, then the statement s (its PREPARE too on its first run)
 * or the command sql (one statement) or nothing, in one pipeline and one
 * round trip, then a sync. The answer is the first error among them (a
 * statement after a failed one is not run: the pipeline is aborted to the
 * sync), else DB_OK with the statement's result kept. Where no pipeline can
 * begin, what is queued runs one statement at a time and RUN_UNPIPED asks
 * the caller to run its own as usual. The queue is empty afterwards. */
static int run_piped(struct pg_db *db, struct pg_stmt *s, const char *sql)
{
	PGconn *c = db->conn;
	if (PQenterPipelineMode(c) != 1) {
		int rc = DB_OK;
		for (int i = 0; i < db->nqueued; i++) {
			struct queued *q = &db->queued[i];
			if (rc != DB_OK) { /* not run, as in an aborted pipeline */
				if (q->ahead)
					ahead_answered(q->ahead, NULL, rc);
				continue;
			}
			PGresult *r = q->sql ? PQexec(c, q->sql)
					     : PQexecPrepared(c, q->name, q->nparams,
							      (const char *const *)q->values, NULL,
							      NULL, 0);
			rc = status_of(db, r);
			if (q->ahead)
				ahead_answered(q->ahead, r, rc);
			else
				PQclear(r);
		}
		queue_drop(db, false);
		return rc != DB_OK ? rc : (s || sql) ? RUN_UNPIPED : DB_OK;
	}
	int sent = 0;
	bool ok = true;
	struct pg_stmt *ahead[QUEUE_MAX] = {0}; /* by the place of its statement */
	for (int i = 0; i < db->nqueued; i++)
		ahead[i] = db->queued[i].ahead;
	for (int i = 0; i < db->nqueued && ok; i++, sent++) {
		struct queued *q = &db->queued[i];
		ok = q->sql ? PQsendQueryParams(c, q->sql, 0, NULL, NULL, NULL, NULL, 0) == 1
			    : PQsendQueryPrepared(c, q->name, q->nparams,
						  (const char *const *)q->values, NULL, NULL,
						  0) == 1;
	}
	queue_drop(db, false); /* libpq has copied them into its buffer */
	char name[sizeof((struct pg_stmt *)0)->name];
	bool preparing = s && !s->name[0];
	if (preparing) {
		snprintf(name, sizeof name, "s%llu", (unsigned long long)++db->prepared);
		ok = ok && PQsendPrepare(c, name, s->pg_sql, s->nparams, s->types) == 1;
		sent++;
	}
	if (s || sql) {
		ok = ok && (s ? PQsendQueryPrepared(c, preparing ? name : s->name, s->nparams,
						    (const char *const *)s->values, NULL, NULL, 0)
			      : PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0)) == 1;
		sent++;
	}
	ok = ok && PQpipelineSync(c) == 1;
	int rc = ok ? DB_OK : status_of(db, NULL);
	PGresult *mine = NULL;
	for (int k = 0; k < sent && ok; k++) {
		PGresult *r = PQgetResult(c);
		if (!r) {
			rc = rc != DB_OK ? rc : status_of(db, NULL);
			break;
		}
		bool aborted = PQresultStatus(r) == PGRES_PIPELINE_ABORTED;
		int got = aborted ? DB_OK : status_of(db, r);
		if (k < QUEUE_MAX && ahead[k]) {
			ahead_answered(ahead[k], r, aborted ? (rc != DB_OK ? rc : DB_ERROR) : got);
			ahead[k] = NULL;
		} else if (s && k == sent - 1 && got == DB_OK && !aborted) {
			mine = r;
		} else {
			PQclear(r);
		}
		if (got != DB_OK && rc == DB_OK)
			rc = got;
		PQclear(PQgetResult(c)); /* the end of that statement's results */
	}
	for (int i = 0; i < QUEUE_MAX; i++) /* not answered: the pipeline failed first */
		if (ahead[i])
			ahead_answered(ahead[i], NULL, rc != DB_OK ? rc : DB_BUSY);
	/* up to the sync, then out of the pipeline */
	PGresult *r;
	while ((r = PQgetResult(c)) != NULL) {
		bool synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (synced)
			break;
	}
	if (PQexitPipelineMode(c) != 1 && rc == DB_OK)
		rc = status_of(db, NULL);
	if (!s)
		return rc;
	if (rc == DB_OK && preparing)
		memcpy(s->name, name, sizeof name);
	if (rc != DB_OK) {
		PQclear(mine);
		s->ran = true;
		return rc;
	}
	s->res = mine;
	const char *n = PQcmdTuples(mine);
	if (n && *n)
		db->changes = strtoll(n, NULL, 10);
	s->nrows = PQntuples(mine);
	s->ran = true;
	return DB_OK;
}

/* Runs the statement and keeps its result. A statement that fails inside
 * a transaction leaves it aborted on PostgreSQL (on SQLite only the
 * statement is undone): every path of the store that goes on after a
 * failed write does so from a savepoint (a writer's in its group, an
 * import's part), which db.c rolls back to; anything else run in the
 * aborted transaction fails as 25P02, a 500, never silently. (A savepoint
 * around every write statement, tried first, cost three round trips a
 * statement: 333 POSTs/s.) */
static int run(struct pg_stmt *s)
{
	struct pg_db *db = s->db;
	if (!pg_in_transaction(&db->head)) {
		int lost = reconnect_if_lost(db);
		if (lost != DB_OK) {
			s->ran = true;
			return lost;
		}
	}
	if (db->nqueued) {
		int rc = run_piped(db, s, NULL);
		if (rc != RUN_UNPIPED)
			return rc;
	}
	if (!s->name[0]) {
		/* parsed and planned once per connection, with the types of its
		 * first parameters (a later NULL or number is sent as text and read
		 * as the type then fixed); a statement PostgreSQL cannot prepare
		 * would fail as well unprepared */
		char name[sizeof s->name];
		snprintf(name, sizeof name, "s%llu", (unsigned long long)++db->prepared);
		PGresult *p = PQprepare(db->conn, name, s->pg_sql, s->nparams, s->types);
		int rc = status_of(db, p);
		PQclear(p);
		if (rc != DB_OK) {
			s->ran = true;
			return rc;
		}
		memcpy(s->name, name, sizeof name);
	}
	s->res = PQexecPrepared(db->conn, s->name, s->nparams, (const char *const *)s->values, NULL,
				NULL, 0);
	int rc = status_of(db, s->res);
	if (rc == DB_OK) {
		const char *n = PQcmdTuples(s->res);
		if (n && *n)
			db->changes = strtoll(n, NULL, 10);
		s->nrows = PQntuples(s->res);
	}
	s->ran = true;
	return rc;
}

static int pg_step(struct db_stmt *stmt)
{
	struct pg_stmt *s = st(stmt);
	if (s->ahead) { /* no statement took it along: it goes alone */
		int rc = flush_queued(s->db);
		if (s->ahead)
			ahead_answered(s, NULL, rc != DB_OK ? rc : DB_ERROR);
	}
	if (s->failed != DB_OK)
		return s->failed;
	if (!s->ran) {
		int rc = run(s);
		if (rc != DB_OK)
			return rc;
		s->row = -1;
	}
	if (++s->row < s->nrows)
		return DB_ROW;
	return DB_OK;
}

/* A read sent ahead waits in the queue of a connection of its own (not the
 * shared writer's, whose queue belongs to the write in its group) for the
 * next statement or command, once it is prepared there (its first run is
 * the usual one, which prepares it), its parameters moved there. */
static bool pg_step_ahead(struct db_stmt *stmt)
{
	struct pg_stmt *s = st(stmt);
	struct pg_db *db = s->db;
	if (s->ran || s->ahead || db->head.shared || PQstatus(db->conn) != CONNECTION_OK)
		return false;
	for (int i = 0; i < db->nqueued; i++)
		if (db->queued[i].ahead)
			return false; /* one at a time */
	if (!queue_prepared(db, s, true))
		return false;
	s->ahead = s->pinned = true;
	return true;
}

/* A statement whose result no one reads waits in the shared writer's queue
 * for the next statement, once it is prepared (its first run is the usual
 * one), its parameters moved there. */
static int pg_step_unread(struct db_stmt *stmt)
{
	struct pg_stmt *s = st(stmt);
	struct pg_db *db = s->db;
	if (!s->ran && db->head.shared && pg_in_transaction(&db->head) &&
	    queue_prepared(db, s, false)) {
		s->ran = true;
		s->row = -1;
		s->nrows = 0;
		return DB_OK;
	}
	return db_result(pg_step(stmt));
}

static bool at_row(struct pg_stmt *s, int col)
{
	return s->res && s->row >= 0 && s->row < s->nrows && col < PQnfields(s->res);
}

static enum db_type pg_column_type(struct db_stmt *stmt, int col)
{
	struct pg_stmt *s = st(stmt);
	if (!at_row(s, col) || PQgetisnull(s->res, s->row, col))
		return DB_TYPE_NULL;
	switch (PQftype(s->res, col)) {
	case 16:                        /* bool */
	case 20:                        /* int8 */
	case 21:                        /* int2 */
	case 23:                        /* int4 */
	case 26: return DB_TYPE_INT;    /* oid */
	case 700:                       /* float4 */
	case 701:                       /* float8 */
	case 1700: return DB_TYPE_REAL; /* numeric */
	default: return DB_TYPE_TEXT;
	}
}

static int64_t pg_column_int(struct db_stmt *stmt, int col)
{
	struct pg_stmt *s = st(stmt);
	if (!at_row(s, col) || PQgetisnull(s->res, s->row, col))
		return 0;
	const char *v = PQgetvalue(s->res, s->row, col);
	if (v[0] == 't' && !v[1])
		return 1;
	return strtoll(v, NULL, 10);
}

static double pg_column_real(struct db_stmt *stmt, int col)
{
	struct pg_stmt *s = st(stmt);
	if (!at_row(s, col) || PQgetisnull(s->res, s->row, col))
		return 0;
	return strtod(PQgetvalue(s->res, s->row, col), NULL);
}

static const char *pg_column_text(struct db_stmt *stmt, int col)
{
	struct pg_stmt *s = st(stmt);
	if (!at_row(s, col) || PQgetisnull(s->res, s->row, col))
		return NULL;
	return PQgetvalue(s->res, s->row, col);
}

static size_t pg_column_bytes(struct db_stmt *stmt, int col)
{
	struct pg_stmt *s = st(stmt);
	if (!at_row(s, col) || PQgetisnull(s->res, s->row, col))
		return 0;
	return (size_t)PQgetlength(s->res, s->row, col);
}

static void pg_done(struct db_stmt *stmt)
{
	stmt_clear(st(stmt));
}

static int64_t pg_changes(struct db *db)
{
	return pg(db)->changes;
}

static int64_t pg_last_insert_id(struct db *db)
{
	return pg(db)->last_id;
}

/* The largest of the identity's last value and the table's largest id,
 * plus one. */
static int pg_next_id(struct db *db, const char *table, int64_t *next)
{
	if (flush_queued(pg(db)) != DB_OK)
		return DB_ERROR;
	char *sql = xasprintf("SELECT GREATEST((SELECT coalesce(max(id), 0) FROM %s), "
			      "coalesce((SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
			      "FROM %s_id_seq), 0)) + 1",
			      table, table);
	if (!sql)
		return DB_ERROR;
	PGresult *res = PQexec(pg(db)->conn, sql);
	free(sql);
	int rc = status_of(pg(db), res);
	if (rc == DB_OK && PQntuples(res) == 1)
		*next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

static int pg_set_next_id(struct db *db, const char *table, int64_t next)
{
	char *sql = next > 1 ? xasprintf("SELECT setval('%s_id_seq', %lld, true)", table,
					 (long long)(next - 1))
			     : xasprintf("SELECT setval('%s_id_seq', 1, false)", table);
	if (!sql)
		return DB_ERROR;
	int rc = exec(db, sql);
	free(sql);
	return rc;
}

/* "INSERT INTO t (a, b, id)": the table, and whether id is the last column. */
static bool id_last(const char *head, char *table, size_t len)
{
	const char *into = strstr(head, "INTO ");
	if (!into)
		return false;
	into += 5;
	size_t n = strcspn(into, " (");
	snprintf(table, len, "%.*s", (int)n, into);
	const char *close = strrchr(head, ')');
	return close && close - head >= 4 && strncmp(close - 4, ", id", 4) == 0;
}

/* Rows of one INSERT: the parameters of one statement stay far below
 * MAX_MARKED. */
#define ROWS_PER_STATEMENT 32

/* rows [from, from + n) of an insert, one statement */
static int insert_some(struct db *db, const char *head, const char *tail, const char *table,
		       bool ids, int ncols, int from, int n,
		       void (*bind_row)(struct db_stmt *stmt, int at, int i, const void *cls),
		       const void *cls, int64_t *given)
{
	struct strbuf sb = {0};
	strbuf_printf(&sb, "%s VALUES ", head);
	for (int r = 0; r < n; r++)
		for (int c = 0; c < ncols; c++) {
			int k = r * ncols + c + 1;
			strbuf_puts(&sb, c ? ", " : r ? "), (" : "(");
			if (ids && c == ncols - 1)
				strbuf_printf(&sb, "coalesce(?%d::bigint, nextval('%s_id_seq'))", k,
					      table);
			else
				strbuf_printf(&sb, "?%d", k);
		}
	strbuf_puts(&sb, ")");
	if (tail)
		strbuf_printf(&sb, " %s", tail);
	if (ids)
		strbuf_puts(&sb, " RETURNING id");
	char *sql = strbuf_steal(&sb);
	struct pg_stmt *s = sql ? prepare(pg(db), sql, NULL) : NULL;
	free(sql);
	if (!s)
		return DB_ERROR;
	stmt_clear(s);
	for (int i = 0; i < n; i++)
		bind_row(&s->head, 1 + i * ncols, from + i, cls);
	for (int i = 0; ids && i < n; i++) {
		const char *v = s->values[i * ncols + ncols - 1];
		if (v && strtoll(v, NULL, 10) > *given)
			*given = strtoll(v, NULL, 10);
	}
	/* rows with no id to return: nothing of the answer is read */
	int rc = ids ? run(s) : pg_step_unread(&s->head);
	if (rc == DB_OK && ids && s->nrows > 0)
		pg(db)->last_id = strtoll(PQgetvalue(s->res, s->nrows - 1, 0), NULL, 10);
	stmt_clear(s);
	return rc;
}

/* COPY's text format: a field with backslash, tab, newline and carriage
 * return escaped, NULL as \N. */
static void copy_field(struct strbuf *sb, const char *v)
{
	if (!v) {
		strbuf_puts(sb, "\\N");
		return;
	}
	const char *from = v;
	for (const char *p = v; *p; p++) {
		const char *esc = *p == '\\'   ? "\\\\"
				  : *p == '\t' ? "\\t"
				  : *p == '\n' ? "\\n"
				  : *p == '\r' ? "\\r"
					       : NULL;
		if (!esc)
			continue;
		strbuf_append(sb, from, (size_t)(p - from));
		strbuf_puts(sb, esc);
		from = p + 1;
	}
	strbuf_puts(sb, from);
}

#define COPY_SEND_BYTES    (256 * 1024)
#define COPY_NOT_FOR_THESE 1

/* The rows of pg_insert_rows through COPY ... FROM STDIN, in one round trip
 * for up to COPY_SEND_BYTES of text (a bulk import's rows, its audit
 * rows), when every row gives its id (an id column left to the identity
 * takes the INSERT path: COPY_NOT_FOR_THESE). Each row is bound into a statement of its own
 * columns, then written as a line of COPY's text format. */
static int copy_rows(struct pg_db *db, const char *head, bool ids, int ncols, int n,
		     void (*bind_row)(struct db_stmt *stmt, int at, int i, const void *cls),
		     const void *cls, int64_t *given)
{
	if (flush_queued(db) != DB_OK)
		return DB_ERROR;
	const char *columns = strchr(head, '(');
	char table[64];
	id_last(head, table, sizeof table);
	char *sql = columns ? xasprintf("COPY %s %s FROM STDIN", table, columns) : NULL;
	struct pg_stmt row = {.head.engine = &db_engine_postgresql, .db = db, .nparams = ncols};
	row.values = xcalloc((size_t)ncols, sizeof *row.values);
	row.types = xcalloc((size_t)ncols, sizeof *row.types);
	row.unused = xcalloc((size_t)ncols, sizeof *row.unused);
	int rc = sql && row.values && row.types && row.unused ? DB_OK : DB_ERROR;
	if (rc == DB_OK && ids) {
		bind_row(&row.head, 1, 0, cls);
		if (!row.values[ncols - 1])
			rc = COPY_NOT_FOR_THESE; /* the identity gives the ids: INSERT */
		stmt_clear(&row);
	}
	PGresult *res = rc == DB_OK ? PQexec(db->conn, sql) : NULL;
	free(sql);
	if (rc == DB_OK && PQresultStatus(res) != PGRES_COPY_IN) {
		int refused = status_of(db, res);
		rc = refused == DB_OK ? DB_ERROR : refused;
	}
	PQclear(res);
	struct strbuf sb = {0};
	const char *refusal = NULL;
	for (int i = 0; i < n && rc == DB_OK && !refusal; i++) {
		bind_row(&row.head, 1, i, cls);
		for (int c = 0; c < ncols; c++) {
			if (c)
				strbuf_puts(&sb, "\t");
			copy_field(&sb, row.values[c]);
		}
		strbuf_puts(&sb, "\n");
		if (ids) {
			const char *id = row.values[ncols - 1];
			int64_t v = id ? strtoll(id, NULL, 10) : 0;
			if (!id)
				refusal = "a row without its id";
			else if (v > *given)
				*given = v;
			db->last_id = v;
		}
		stmt_clear(&row);
		if (sb.len >= COPY_SEND_BYTES || i == n - 1) {
			if (!sb.data || PQputCopyData(db->conn, sb.data, (int)sb.len) != 1)
				refusal = sb.data ? "the rows could not be sent" : "out of memory";
			sb.len = 0;
		}
	}
	free(sb.data);
	if (rc == DB_OK) {
		if (PQputCopyEnd(db->conn, refusal) != 1) {
			rc = DB_BUSY; /* the connection went */
		} else {
			while ((res = PQgetResult(db->conn)) != NULL) {
				int status = status_of(db, res);
				if (rc == DB_OK)
					rc = status;
				PQclear(res);
			}
		}
	}
	if (rc == DB_OK)
		db->changes = n;
	free(row.values);
	free(row.types);
	free(row.unused);
	return rc;
}

/* From this many rows on, pg_insert_rows copies them in (copy_rows). */
#define COPY_FROM_ROWS 64

static int pg_insert_rows(struct db *db, const char *head, const char *tail, int ncols, int n,
			  void (*bind_row)(struct db_stmt *stmt, int at, int i, const void *cls),
			  const void *cls)
{
	char table[64];
	bool ids = id_last(head, table, sizeof table);
	int64_t given = 0; /* the largest id given, to move the identity past */
	int rc = DB_OK;
	int copied = n >= COPY_FROM_ROWS && !tail
			     ? copy_rows(pg(db), head, ids, ncols, n, bind_row, cls, &given)
			     : COPY_NOT_FOR_THESE;
	if (copied != COPY_NOT_FOR_THESE)
		rc = copied;
	for (int from = 0; copied == COPY_NOT_FOR_THESE && from < n && rc == DB_OK;
	     from += ROWS_PER_STATEMENT) {
		int some = n - from < ROWS_PER_STATEMENT ? n - from : ROWS_PER_STATEMENT;
		rc = insert_some(db, head, tail, table, ids, ncols, from, some, bind_row, cls,
				 &given);
	}
	if (rc == DB_OK && given > 0) {
		char *move =
			xasprintf("SELECT setval('%s_id_seq', GREATEST(%lld, (SELECT CASE WHEN "
				  "is_called THEN last_value ELSE 0 END FROM %s_id_seq)), true)",
				  table, (long long)given, table);
		rc = move ? exec(db, move) : DB_ERROR;
		free(move);
	}
	return rc;
}

static int pg_query_plan(struct db *db, const char *sql, char *out, size_t len)
{
	if (flush_queued(pg(db)) != DB_OK)
		return DB_ERROR;
	int nparams = 0;
	char *converted = dollars(sql, &nparams, NULL);
	char *explain = converted ? xasprintf("EXPLAIN %s", converted) : NULL;
	free(converted);
	if (!explain)
		return DB_ERROR;
	const char **values = xcalloc((size_t)nparams + 1, sizeof *values);
	PGresult *res =
		values ? PQexecParams(pg(db)->conn, explain, nparams, NULL, values, NULL, NULL, 0)
		       : NULL;
	free(values);
	free(explain);
	int rc = status_of(pg(db), res);
	size_t used = 0;
	if (len)
		out[0] = '\0';
	for (int i = 0; rc == DB_OK && i < PQntuples(res); i++) {
		int k = snprintf(out + used, len - used, "%s\n", PQgetvalue(res, i, 0));
		used += k > 0 && (size_t)k < len - used ? (size_t)k : 0;
	}
	PQclear(res);
	return rc;
}

/* --- transactions ------------------------------------------------------ */

static const char *const control_sql[] = {
	[DB_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[DB_BEGIN_WRITE] = "BEGIN; SELECT pg_advisory_xact_lock(" STRINGIFY(WRITER_LOCK_KEY) ")",
	[DB_COMMIT] = "COMMIT",
	[DB_ROLLBACK] = "ROLLBACK",
	[DB_SAVE_WRITER] = "SAVEPOINT writer",
	[DB_RELEASE_WRITER] = "RELEASE writer",
	[DB_UNDO_WRITER] = "ROLLBACK TO writer",
	[DB_SAVE_PART] = "SAVEPOINT part",
	[DB_RELEASE_PART] = "RELEASE part",
	[DB_UNDO_PART] = "ROLLBACK TO part",
	/* the same lock for the session: other instances' writes wait between
	 * an import's chunks too (a session may take a lock it holds) */
	[DB_HOLD_WRITER] = "SELECT pg_advisory_lock(" STRINGIFY(WRITER_LOCK_KEY) ")",
	[DB_LET_WRITER] = "SELECT pg_advisory_unlock(" STRINGIFY(WRITER_LOCK_KEY) ")",
	/* the server holds the pages: nothing to keep small here */
	[DB_READ_THROUGH] = NULL,
	/* PostgreSQL evaluates its CHECKs whatever is asked, and the server
	 * holds the pages */
	[DB_BULK_BEGIN] = NULL,
	[DB_BULK_END] = NULL,
};

static int pg_control(struct db *db, enum db_control what)
{
	if (!control_sql[what])
		return DB_OK;
	struct pg_db *d = pg(db);
	/* the shared writer's savepoints wait for the next statement: none of
	 * them has an answer to read, and a rollback makes them moot; but a
	 * RELEASE sends the write's unread statements, as the write's own */
	if (db->shared && (what == DB_SAVE_WRITER || what == DB_RELEASE_WRITER) &&
	    d->nqueued < QUEUE_MAX && !queued_prepared(d) && pg_in_transaction(db)) {
		d->queued[d->nqueued++] = (struct queued){.sql = control_sql[what]};
		return DB_OK;
	}
	if (what == DB_ROLLBACK)
		queue_drop(d, false);
	if (what == DB_UNDO_WRITER || what == DB_UNDO_PART)
		queue_drop(d, true);
	if ((what == DB_BEGIN_READ || what == DB_BEGIN_WRITE) && !pg_in_transaction(db)) {
		int lost = reconnect_if_lost(pg(db));
		if (lost != DB_OK)
			return lost;
	}
	int rc = exec(db, control_sql[what]);
	if (rc != DB_OK && what == DB_BEGIN_WRITE && pg_in_transaction(db))
		exec(db, "ROLLBACK");
	return rc;
}

/* --- the schema and what the engine promises ---------------------------- */

/* 0 until the first migration made cohortd_schema. */
static int pg_schema_version(struct db *db, int *version)
{
	if (flush_queued(pg(db)) != DB_OK)
		return DB_ERROR;
	PGresult *res = PQexec(pg(db)->conn,
			       "SELECT CASE WHEN to_regclass('cohortd_schema') IS NULL THEN 0 END");
	int rc = status_of(pg(db), res);
	bool made = rc == DB_OK && PQntuples(res) == 1 && PQgetisnull(res, 0, 0);
	PQclear(res);
	*version = 0;
	if (rc != DB_OK || !made)
		return rc;
	res = PQexec(pg(db)->conn, "SELECT max(version) FROM cohortd_schema");
	rc = status_of(pg(db), res);
	if (rc == DB_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

static int pg_set_schema_version(struct db *db, int version)
{
	char sql[192];
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS cohortd_schema (version INTEGER NOT NULL); "
		 "DELETE FROM cohortd_schema; INSERT INTO cohortd_schema (version) VALUES (%d)",
		 version);
	return exec(db, sql);
}

/* A worker's connection keeps no snapshot between requests here. */
static void pg_worker_taken(struct db *db)
{
	(void)db;
}

static bool pg_server_address(struct db *db, char *out, size_t n)
{
	const char *host = PQhost(pg(db)->conn), *port = PQport(pg(db)->conn);
	if (PQstatus(pg(db)->conn) != CONNECTION_OK || !host)
		return false;
	snprintf(out, n, "%s:%s", host, port ? port : "");
	return true;
}

static int pg_durability(struct db *db, enum db_durability *d)
{
	if (flush_queued(pg(db)) != DB_OK)
		return DB_ERROR;
	PGresult *res = PQexec(pg(db)->conn, "SHOW synchronous_commit");
	int rc = status_of(pg(db), res);
	if (rc == DB_OK)
		*d = strcmp(PQgetvalue(res, 0, 0), "off") == 0 ? DB_DURABLE_NORMAL
							       : DB_DURABLE_FULL;
	PQclear(res);
	return rc;
}

/* The database's size; PostgreSQL's WAL is the server's, not this database's. */
static int pg_file_sizes(struct db *db, int64_t *db_bytes, int64_t *wal_bytes)
{
	if (flush_queued(pg(db)) != DB_OK)
		return DB_ERROR;
	PGresult *res = PQexec(pg(db)->conn, "SELECT pg_database_size(current_database())");
	int rc = status_of(pg(db), res);
	if (rc == DB_OK)
		*db_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*wal_bytes = 0;
	PQclear(res);
	return rc;
}

static int pg_checkpoint(struct db *db)
{
	(void)db;
	return DB_OK; /* the server's own business */
}

static bool pg_at_quota(struct db *db)
{
	(void)db;
	return false;
}

const struct db_engine db_engine_postgresql = {
	.name = "postgresql",
	.claims = pg_claims,
	.open = pg_open,
	.close = pg_close,
	.last_error = pg_last_error,
	.control = pg_control,
	.in_transaction = pg_in_transaction,
	.prepare = pg_prepare,
	.bind_int = pg_bind_int,
	.bind_real = pg_bind_real,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.step_unread = pg_step_unread,
	.step_ahead = pg_step_ahead,
	.column_type = pg_column_type,
	.column_int = pg_column_int,
	.column_real = pg_column_real,
	.column_text = pg_column_text,
	.column_bytes = pg_column_bytes,
	.done = pg_done,
	.changes = pg_changes,
	.last_insert_id = pg_last_insert_id,
	.next_id = pg_next_id,
	.set_next_id = pg_set_next_id,
	.insert_rows = pg_insert_rows,
	.query_plan = pg_query_plan,
	.migrations = embedded_migrations_postgresql,
	.migrations_count = &embedded_migrations_postgresql_count,
	.schema_version = pg_schema_version,
	.set_schema_version = pg_set_schema_version,
	.exec_script = exec,
	.durability = pg_durability,
	.server_address = pg_server_address,
	.file_sizes = pg_file_sizes,
	.checkpoint = pg_checkpoint,
	.at_quota = pg_at_quota,
	.worker_taken = pg_worker_taken,
};
