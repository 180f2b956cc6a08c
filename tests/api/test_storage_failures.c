/* Storage that fails under a running server: a full disk (a small tmpfs
 * filled to the last byte), a database file that cannot be written from
 * the start (a read-only mount), and a filesystem the kernel turns
 * read-only after an error (ext4 on a loop device, errors=remount-ro).
 * Writes are refused with a problem and change nothing, reads go on,
 * /readyz says whether writes get through, and a full disk recovers by
 * itself once space returns. A quota (--max-db-size) refuses writes past it
 * the same way. And a clean stop leaves no write-ahead log.
 *
 * The mounts are made in a private mount namespace of this process (which
 * the server, its child, shares), so nothing shows on the host and nothing
 * outlives the test. They need root; without it those cases are skipped
 * with a message (the quota and stop cases still run). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define STORAGE_FULL "urn:cohortd:problem:storage-full"
#define UNAVAILABLE  "urn:cohortd:problem:unavailable"

static char mnt[64];

static void run(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "test_storage_failures: `%s` failed (%d)\n", cmd, rc);
		exit(1);
	}
}

static void make_mount_point(void)
{
	snprintf(mnt, sizeof mnt, "/tmp/cohortd-storage-XXXXXX");
	if (!mkdtemp(mnt)) {
		perror("mkdtemp");
		exit(1);
	}
}

static void unmount_and_remove(void)
{
	umount(mnt);
	rmdir(mnt);
}

static void mount_tmpfs(const char *size)
{
	make_mount_point();
	char opts[64];
	snprintf(opts, sizeof opts, "size=%s", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		perror("mount tmpfs");
		exit(1);
	}
}

static void remount_tmpfs_read_only(void)
{
	if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0) {
		perror("remount read-only");
		exit(1);
	}
}

/* --- requests ----------------------------------------------------------- */

static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};

static char *patient_json(void)
{
	char *out = malloc(512);
	snprintf(out, 512,
		 "{\"code\":\"%s\",\"histology\":\"melanoma\",\"setting\":\"metastatic\","
		 "\"regimen\":\"il2_alone\",\"enrolled_on\":\"1985-01-10\"}",
		 unique_code("DISK"));
	return out;
}

static void assert_status(struct resp *r, long status, const char *type)
{
	if (type)
		assert_problem(r, status, type);
	else
		ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status,
			      r->body);
	resp_free(r);
}

/* Every write route, each on a record that exists, answers status/type. */
static void assert_every_write_refused(const struct family *f, long status, const char *type)
{
	char path[96], body[256];
	char *patient = patient_json();
	assert_status(http_post_json("/patients", patient), status, type);
	free(patient);
	snprintf(body, sizeof body,
		 "{\"patient_id\":%lld,\"started_on\":\"1985-03-01\",\"il2_dose\":600000,"
		 "\"il2_dose_unit\":\"IU/kg\"}",
		 (long long)f->patient);
	assert_status(http_post_json("/courses", body), status, type);
	snprintf(body, sizeof body,
		 "{\"course_id\":%lld,\"assessed_on\":\"1985-05-01\",\"response\":\"CR\"}",
		 (long long)f->course);
	assert_status(http_post_json("/outcomes", body), status, type);
	snprintf(body, sizeof body,
		 "{\"course_id\":%lld,\"term\":\"Fever\",\"grade\":2,\"onset_on\":\"1985-03-02\","
		 "\"attribution\":\"probable\"}",
		 (long long)f->course);
	assert_status(http_post_json("/toxicities", body), status, type);

	snprintf(path, sizeof path, "/patients/%lld", (long long)f->patient);
	assert_status(http_patch_json(path, "{\"sex\":\"female\"}"), status, type);
	snprintf(path, sizeof path, "/courses/%lld", (long long)f->course);
	assert_status(http_patch_json(path, "{\"il2_dose\":500000}"), status, type);
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)f->outcome);
	assert_status(http_patch_json(path, "{\"response\":\"SD\"}"), status, type);
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)f->toxicity);
	assert_status(http_patch_json(path, "{\"grade\":4}"), status, type);

	snprintf(path, sizeof path, "/toxicities/%lld", (long long)f->toxicity);
	assert_status(http_delete(path), status, type);
	snprintf(path, sizeof path, "/outcomes/%lld", (long long)f->outcome);
	assert_status(http_delete(path), status, type);
	snprintf(path, sizeof path, "/courses/%lld?cascade=true", (long long)f->course);
	assert_status(http_delete(path), status, type);
	snprintf(path, sizeof path, "/patients/%lld?cascade=true", (long long)f->patient);
	assert_status(http_delete(path), status, type);

	patient = patient_json();
	strcat(patient, "\n");
	assert_status(http("POST", "/import", ndjson, patient, strlen(patient)), status, type);
	free(patient);
}

/* Reads of every kind still answer, and show the family intact. */
static void assert_reads_served(const struct family *f)
{
	char path[96];
	snprintf(path, sizeof path, "/patients/%lld", (long long)f->patient);
	json_t *p = get_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "version")), 1);
	json_decref(p);
	snprintf(path, sizeof path, "/patients/%lld/toxicities", (long long)f->patient);
	json_t *list = get_json(path);
	ck_assert_int_eq(json_array_size(json_object_get(list, "items")), 1);
	json_decref(list);
	json_decref(get_json("/patients?limit=5"));
	json_decref(get_json("/stats/summary"));
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	json_decref(v);
}

/* /readyz: 200, reads served; writable as given, and when not, the status
 * and problem type a write meets now. */
static void assert_ready(bool writable, long refusal_status, const char *refusal_type)
{
	json_t *r = get_json("/readyz");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ready");
	ck_assert(json_is_boolean(json_object_get(r, "writable")));
	ck_assert_int_eq(json_is_true(json_object_get(r, "writable")), writable);
	json_t *refusal = json_object_get(r, "write_refusal");
	if (writable) {
		ck_assert_ptr_null(refusal);
	} else {
		json_t *status = json_object_get(refusal, "status");
		ck_assert_int_eq(json_integer_value(status), refusal_status);
		ck_assert_str_eq(json_string_value(json_object_get(refusal, "type")), refusal_type);
		const char *detail = json_string_value(json_object_get(refusal, "detail"));
		ck_assert_msg(detail && *detail, "write_refusal without detail");
	}
	json_decref(r);
}

/* --- a full disk -------------------------------------------------------- */

static char filler[128];

/* Writes zeros until the filesystem has no byte left. */
static void fill_the_disk(void)
{
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	static char block[64 * 1024];
	size_t size = sizeof block;
	while (size > 0) {
		ssize_t n = write(fd, block, size);
		if (n < 0 && errno == ENOSPC)
			size /= 2;
		else
			ck_assert_int_ge(n, 0);
	}
	close(fd);
}

static void start_on_small_tmpfs(void)
{
	mount_tmpfs("4m");
	api_use_db_dir(mnt);
	api_start();
}

static void stop_and_unmount(void)
{
	api_stop();
	api_use_db_dir(NULL);
	unmount_and_remove();
}

START_TEST(test_a_full_disk_refuses_every_write_with_507_and_serves_reads)
{
	struct family f = make_family();
	assert_ready(true, 0, NULL);
	fill_the_disk();
	char *before = db_fingerprint();
	int64_t audit = db_count("audit");
	assert_every_write_refused(&f, 507, STORAGE_FULL);
	char *after = db_fingerprint();
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(db_count("audit"), audit);
	free(before);
	free(after);
	assert_reads_served(&f);
	assert_ready(false, 507, STORAGE_FULL);
	/* it stays so, for a write that needs little room as for one that needs much */
	char path[96];
	snprintf(path, sizeof path, "/toxicities/%lld", (long long)f.toxicity);
	assert_status(http_patch_json(path, "{\"grade\":1}"), 507, STORAGE_FULL);

	/* space returns: writes succeed again, without a restart */
	ck_assert_int_eq(unlink(filler), 0);
	assert_ready(true, 0, NULL);
	char *patient = patient_json();
	assert_status(http_post_json("/patients", patient), 201, NULL);
	free(patient);
	assert_status(http_patch_json(path, "{\"grade\":1}"), 200, NULL);
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "rows")), db_count("audit"));
	json_decref(v);
}
END_TEST

/* --- a quota: --max-db-size --------------------------------------------- */

/* Imports batches of n patients until one is refused; returns it. */
static struct resp *import_until_refused(int n)
{
	size_t cap = (size_t)n * 512;
	char *body = malloc(cap);
	for (int batch = 0; batch < 10000 / n; batch++) {
		size_t used = 0;
		for (int i = 0; i < n; i++) {
			char *p = patient_json();
			used += (size_t)snprintf(body + used, cap - used, "%s\n", p);
			free(p);
		}
		struct resp *r = http("POST", "/import", ndjson, body, used);
		if (r->status != 200) {
			free(body);
			return r;
		}
		resp_free(r);
	}
	free(body);
	ck_abort_msg("10,000 patients fit in a 1 MiB quota");
	return NULL;
}

START_TEST(test_a_quota_refuses_writes_past_it_with_507)
{
	SKIP_ON_POSTGRESQL("--max-db-size is SQLite's page quota");
	static const char *const quota[] = {"--max-db-size", "1", NULL};
	api_start_with(quota);
	struct family f = make_family();
	/* filled to the brim: by the hundred, then one at a time */
	struct resp *r = import_until_refused(100);
	assert_problem(r, 507, STORAGE_FULL);
	resp_free(r);
	r = import_until_refused(1);
	assert_problem(r, 507, STORAGE_FULL);
	resp_free(r);
	/* the file is within the quota (its log is not counted) */
	struct stat st;
	ck_assert_int_eq(stat(api_db_path(), &st), 0);
	ck_assert_int_le(st.st_size, 1024 * 1024);
	/* A write that needs a new page is refused and changes nothing. (One
	 * that fits in pages already there, say a first course in a table's
	 * half-empty page, still succeeds: the quota is on pages, not rows.) */
	char *before = db_fingerprint();
	int64_t audit = db_count("audit");
	r = import_until_refused(1);
	assert_problem(r, 507, STORAGE_FULL);
	resp_free(r);
	ck_assert_int_eq(db_count("audit"), audit);
	assert_unchanged(before);
	assert_reads_served(&f);
	assert_ready(false, 507, STORAGE_FULL);
	/* a larger quota, after a restart, makes room */
	api_shutdown();
	static const char *const larger[] = {"--max-db-size", "4", NULL};
	api_launch(larger);
	assert_ready(true, 0, NULL);
	char *patient = patient_json();
	assert_status(http_post_json("/patients", patient), 201, NULL);
	free(patient);
	api_stop();
}
END_TEST

/* --- a database that cannot be written from the start ------------------- */

static void start_on_read_only_mount(void)
{
	mount_tmpfs("4m");
	api_use_db_dir(mnt);
	api_prepare(); /* the database, migrated, with the admin token */
	remount_tmpfs_read_only();
	api_launch(NULL);
}

START_TEST(test_a_read_only_database_is_served_read_only)
{
	char path[96];
	snprintf(path, sizeof path, "%s/test.db-wal", mnt);
	ck_assert_int_ne(access(path, F_OK), 0); /* a clean file: no WAL to replay */
	json_t *list = get_json("/patients");
	ck_assert_int_eq(json_array_size(json_object_get(list, "items")), 0);
	json_decref(list);
	json_decref(get_json("/stats/summary"));
	json_t *v = get_json("/audit/verify");
	ck_assert(json_is_true(json_object_get(v, "intact")));
	json_decref(v);
	assert_ready(false, 503, UNAVAILABLE);
	/* writes are refused before anything is looked up */
	struct family none = {1, 1, 1, 1};
	assert_every_write_refused(&none, 503, UNAVAILABLE);
	assert_ready(false, 503, UNAVAILABLE);
}
END_TEST

/* --- a filesystem the kernel makes read-only under the server ----------- */

/* Linux will not remount a filesystem read-only while a file on it is open
 * for writing (EBUSY), so a live database loses write access only when the
 * kernel forces it, as ext4 with errors=remount-ro does after an error.
 * ext4's trigger_fs_error (sysfs) raises such an error on purpose. */
static char image[64];
static char sysfs_trigger[128];

static void start_on_ext4(void)
{
	snprintf(image, sizeof image, "/tmp/cohortd-ext4-%d.img", (int)getpid());
	make_mount_point();
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "truncate -s 16M %s && mkfs.ext4 -q -F %s && "
		 "mount -o loop,errors=remount-ro %s %s",
		 image, image, image, mnt);
	run(cmd);
	snprintf(cmd, sizeof cmd, "findmnt -n -o SOURCE %s", mnt);
	FILE *p = popen(cmd, "r");
	char dev[64] = "";
	if (!p || !fgets(dev, sizeof dev, p)) {
		fprintf(stderr, "test_storage_failures: no loop device behind %s\n", mnt);
		exit(1);
	}
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	snprintf(sysfs_trigger, sizeof sysfs_trigger, "/sys/fs/ext4/%s/trigger_fs_error",
		 strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev);
	api_use_db_dir(mnt);
	api_start();
}

static void stop_and_unmount_ext4(void)
{
	api_stop();
	api_use_db_dir(NULL);
	unmount_and_remove();
	unlink(image);
}

START_TEST(test_a_kernel_read_only_filesystem_refuses_writes_with_503)
{
	struct family f = make_family();
	assert_ready(true, 0, NULL);
	FILE *t = fopen(sysfs_trigger, "w");
	ck_assert_msg(t != NULL, "cannot open %s: %s", sysfs_trigger, strerror(errno));
	fputs("cohortd test: forced read-only", t);
	fclose(t);
	char *before = db_fingerprint();
	assert_every_write_refused(&f, 503, UNAVAILABLE);
	assert_unchanged(before);
	assert_reads_served(&f);
	assert_ready(false, 503, UNAVAILABLE);
}
END_TEST

/* --- a clean stop ------------------------------------------------------- */

START_TEST(test_sigterm_checkpoints_the_wal_into_the_database_file)
{
	SKIP_ON_POSTGRESQL("SQLite's WAL file");
	api_start();
	for (int i = 0; i < 20; i++)
		make_family();
	char wal[600], copy[600], cmd[1400];
	snprintf(wal, sizeof wal, "%s-wal", api_db_path());
	struct stat st;
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_gt(st.st_size, 0); /* the writes are in the log so far */
	api_shutdown();
	ck_assert_msg(stat(wal, &st) != 0 || st.st_size == 0, "%lld bytes left in the WAL",
		      (long long)st.st_size);
	/* the main file alone, copied without its -wal and -shm, has it all */
	snprintf(copy, sizeof copy, "%s.copy", api_db_path());
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", api_db_path(), copy);
	run(cmd);
	ck_assert_int_eq(db_count_at(copy, "patients"), 20);
	ck_assert_int_eq(db_count_at(copy, "toxicities"), 20);
	ck_assert_int_eq(db_count_at(copy, "audit"), 80);
	unlink(copy);
	FILE *log = fopen(api_log_path(), "r");
	char line[1024];
	bool said = false;
	while (log && fgets(line, sizeof line, log))
		said |= strstr(line, "\"msg\":\"write-ahead log checkpointed\"") != NULL;
	if (log)
		fclose(log);
	ck_assert_msg(said, "no checkpoint in the log");
	api_remove_files();
}
END_TEST

/* A private mount namespace, or false (with the reason) when not root. */
static bool private_mounts(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_storage_failures: SKIPPED the storage cases: they mount "
				"filesystems and need root\n");
		return false;
	}
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("test_storage_failures: a private mount namespace");
		exit(1);
	}
	return true;
}

static TCase *storage_case(const char *name, void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("storage_failures");
	/* these start and stop their own server, to restart or inspect it */
	TCase *own = tcase_create("own_server");
	tcase_set_timeout(own, 120);
	tcase_add_test(own, test_sigterm_checkpoints_the_wal_into_the_database_file);
	tcase_add_test(own, test_a_quota_refuses_writes_past_it_with_507);
	suite_add_tcase(s, own);
	if (private_mounts()) {
		TCase *full = storage_case("full", start_on_small_tmpfs, stop_and_unmount);
		tcase_add_test(full,
			       test_a_full_disk_refuses_every_write_with_507_and_serves_reads);
		suite_add_tcase(s, full);
		TCase *ro = storage_case("read_only", start_on_read_only_mount, stop_and_unmount);
		tcase_add_test(ro, test_a_read_only_database_is_served_read_only);
		suite_add_tcase(s, ro);
		if (access("/dev/loop-control", F_OK) == 0) {
			TCase *ext4 =
				storage_case("ext4_error", start_on_ext4, stop_and_unmount_ext4);
			tcase_add_test(ext4,
				       test_a_kernel_read_only_filesystem_refuses_writes_with_503);
			suite_add_tcase(s, ext4);
		} else {
			fprintf(stderr,
				"test_storage_failures: SKIPPED the ext4 case: this machine "
				"has no loop devices (/dev/loop-control)\n");
		}
	}
	return run_suite(s);
}
