/*
 * pmembench -- raw libpmemobj throughput: the floor the Python layer is
 * compared against.
 *
 *   pmembench [--dir DIR] [--count N] [--json FILE]
 *
 * The parent re-executes itself twice with the hidden flag --mode:
 *   force  PMEM_IS_PMEM_FORCE=1 (memory treated as pmem, flushes are cheap)
 *   msync  PMEM_IS_PMEM_FORCE=0 (ordinary file, every flush is an msync)
 * A child is needed because libpmem reads PMEM_IS_PMEM_FORCE once, when the
 * library is initialised; it cannot be switched inside one process.
 * Each child prints one "RESULT ..." line on stdout, which the parent reads
 * through a pipe; diagnostics go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpmemobj.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAYOUT "pmembench"
#define NSLOTOBJ 1024      /* objects holding the 16-byte slots for update/read */
#define OBJ_SIZE 64        /* 4 slots of 16 bytes per object */
#define SLOTS_PER_OBJ (OBJ_SIZE / 16)
#define OPEN_CYCLES 20
#define MSYNC_MAX 2000     /* msync mode runs at a few k tx/s: cap N there */
#define DEFAULT_COUNT 200000

struct result {
	double alloc_tx_per_s, update_tx_per_s, read_per_s, open_ms, close_ms;
	unsigned long count;
};

static const char *g_mode = "main"; /* prefix for messages */
static char g_pool[PATH_MAX];       /* child: pool file to unlink at exit */
static char g_tmpdir[PATH_MAX];     /* parent: temp dir it created */

static volatile uint64_t sink;      /* keeps the read loop from being elided */

static void fatal(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "pmembench [%s]: ", g_mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* pmemobj_errormsg() is not cleared on success: call only right after a failure. */
#define fatal_pmem(what) fatal("%s failed: %s", (what), pmemobj_errormsg())

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * A tx step failed: keep the message, then bring the tx back to
 * TX_STAGE_NONE (abort if still working, always end) before exiting, since a
 * tx function called in the wrong stage would abort() the process.
 */
static void tx_fail(const char *what)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", pmemobj_errormsg());
	if (pmemobj_tx_stage() == TX_STAGE_WORK)
		pmemobj_tx_abort(ECANCELED);
	if (pmemobj_tx_stage() != TX_STAGE_NONE)
		pmemobj_tx_end();
	fatal("%s failed: %s", what, msg);
}

static void tx_finish(void)
{
	pmemobj_tx_commit(); /* returns void: a failed commit leaves TX_STAGE_ONABORT */
	if (pmemobj_tx_stage() != TX_STAGE_ONCOMMIT)
		tx_fail("pmemobj_tx_commit");
	if (pmemobj_tx_end() != 0)
		fatal("pmemobj_tx_end reported an aborted tx: %s", pmemobj_errormsg());
}

static PMEMobjpool *create_pool(const char *path, size_t size)
{
	PMEMobjpool *pop = pmemobj_create(path, LAYOUT, size, 0600);
	if (pop)
		return pop;
	/*
	 * Unsafe-shutdown detection can refuse creation in VMs/containers.
	 * PMEMOBJ_CONF is parsed at library init, so setting it now only
	 * reaches later children; pmemobj_ctl_set applies it to this process.
	 */
	fprintf(stderr, "pmembench [%s]: pmemobj_create failed (%s); retrying with sds.at_create=0\n",
		g_mode, pmemobj_errormsg());
	setenv("PMEMOBJ_CONF", "sds.at_create=0", 1);
	int off = 0;
	if (pmemobj_ctl_set(NULL, "sds.at_create", &off) != 0)
		fatal_pmem("pmemobj_ctl_set(sds.at_create)");
	unlink(path); /* a failed create may leave a partial file behind */
	pop = pmemobj_create(path, LAYOUT, size, 0600);
	if (!pop)
		fatal_pmem("pmemobj_create (retry with sds.at_create=0)");
	return pop;
}

/* 1. N transactions, each allocating and filling one 64-byte object. */
static double bench_alloc(PMEMobjpool *pop, unsigned long n)
{
	unsigned char buf[OBJ_SIZE];
	memset(buf, 0xab, sizeof buf);
	double t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE) != 0)
			tx_fail("pmemobj_tx_begin");
		PMEMoid oid = pmemobj_tx_alloc(OBJ_SIZE, 1);
		if (OID_IS_NULL(oid))
			tx_fail("pmemobj_tx_alloc");
		/* fresh in this tx: no snapshot needed, commit flushes it */
		memcpy(buf, &i, sizeof i);
		memcpy(pmemobj_direct(oid), buf, sizeof buf);
		tx_finish();
	}
	return (double)n / (now_s() - t0);
}

/* 2. N transactions, each snapshotting and rewriting one 16-byte slot. */
static double bench_update(const PMEMoid *objs, PMEMobjpool *pop, unsigned long n)
{
	double t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		uint64_t *slot = (uint64_t *)pmemobj_direct(objs[i % NSLOTOBJ]) +
			2 * ((i / NSLOTOBJ) % SLOTS_PER_OBJ);
		if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE) != 0)
			tx_fail("pmemobj_tx_begin");
		if (pmemobj_tx_add_range_direct(slot, 16) != 0)
			tx_fail("pmemobj_tx_add_range_direct");
		slot[0] = i;
		slot[1] = ~(uint64_t)i;
		tx_finish();
	}
	return (double)n / (now_s() - t0);
}

/* 3. N plain reads of 16-byte slots, resolving the oid every time. */
static double bench_read(const PMEMoid *objs, unsigned long n)
{
	uint64_t acc = 0;
	double t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		const uint64_t *slot = (const uint64_t *)pmemobj_direct(objs[i % NSLOTOBJ]) +
			2 * ((i / NSLOTOBJ) % SLOTS_PER_OBJ);
		acc ^= slot[0] + slot[1];
		sink = acc;
	}
	return (double)n / (now_s() - t0);
}

/* 4. Median open and close time of the (now populated) pool. */
static void bench_open_close(const char *path, double *open_ms, double *close_ms)
{
	double o[OPEN_CYCLES], c[OPEN_CYCLES];
	for (int k = 0; k < OPEN_CYCLES; k++) {
		double t0 = now_s();
		PMEMobjpool *pop = pmemobj_open(path, LAYOUT);
		double t1 = now_s();
		if (!pop)
			fatal_pmem("pmemobj_open");
		pmemobj_close(pop);
		double t2 = now_s();
		o[k] = (t1 - t0) * 1e3;
		c[k] = (t2 - t1) * 1e3;
	}
	*open_ms = median(o, OPEN_CYCLES);
	*close_ms = median(c, OPEN_CYCLES);
}

static void unlink_pool(void)
{
	if (g_pool[0])
		unlink(g_pool);
}

static void pool_path(char *out, const char *dir, const char *mode, long pid)
{
	if (snprintf(out, PATH_MAX, "%s/pmembench-%s-%ld.pool", dir, mode, pid) >= PATH_MAX)
		fatal("path too long: %s", dir);
}

/* Child: run the four measurements in one mode, print one RESULT line. */
static int run_child(const char *dir, unsigned long n)
{
	pool_path(g_pool, dir, g_mode, (long)getpid());
	atexit(unlink_pool);

	size_t size = (size_t)n * 256 + ((size_t)64 << 20);
	if (size < PMEMOBJ_MIN_POOL)
		size = PMEMOBJ_MIN_POOL;
	PMEMobjpool *pop = create_pool(g_pool, size);

	struct result r = { .count = n };
	r.alloc_tx_per_s = bench_alloc(pop, n);

	PMEMoid objs[NSLOTOBJ];
	for (int k = 0; k < NSLOTOBJ; k++)
		if (pmemobj_zalloc(pop, &objs[k], OBJ_SIZE, 2) != 0)
			fatal_pmem("pmemobj_zalloc");

	r.update_tx_per_s = bench_update(objs, pop, n);
	r.read_per_s = bench_read(objs, n);
	pmemobj_close(pop);
	bench_open_close(g_pool, &r.open_ms, &r.close_ms);

	printf("RESULT %.3f %.3f %.3f %.4f %.4f %lu\n", r.alloc_tx_per_s,
	       r.update_tx_per_s, r.read_per_s, r.open_ms, r.close_ms, r.count);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Parent: re-exec ourselves in MODE with the right environment, parse RESULT. */
static void run_mode(const char *self, const char *mode, const char *dir,
		     unsigned long n, struct result *r)
{
	char count[32];
	snprintf(count, sizeof count, "%lu", n);
	int fd[2];
	if (pipe(fd) != 0)
		fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		setenv("PMEM_IS_PMEM_FORCE", strcmp(mode, "force") == 0 ? "1" : "0", 1);
		char *argv[] = { (char *)self, "--mode", (char *)mode, "--dir", (char *)dir,
				 "--count", count, NULL };
		execv(self, argv);
		fprintf(stderr, "pmembench: execv %s: %s\n", self, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	FILE *in = fdopen(fd[0], "r");
	if (!in)
		fatal("fdopen: %s", strerror(errno));
	char line[256];
	int got = 0;
	while (fgets(line, sizeof line, in))
		if (sscanf(line, "RESULT %lf %lf %lf %lf %lf %lu", &r->alloc_tx_per_s,
			   &r->update_tx_per_s, &r->read_per_s, &r->open_ms,
			   &r->close_ms, &r->count) == 6)
			got = 1;
	fclose(in);
	int status;
	if (waitpid(pid, &status, 0) < 0)
		fatal("waitpid: %s", strerror(errno));

	/* a child killed by a signal cannot unlink its own pool file */
	char leftover[PATH_MAX];
	pool_path(leftover, dir, mode, (long)pid);
	unlink(leftover);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fatal("%s-mode child failed (%s %d)", mode,
		      WIFEXITED(status) ? "exit status" : "signal",
		      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (!got)
		fatal("%s-mode child printed no RESULT line", mode);
}

static void remove_tmpdir(void)
{
	if (g_tmpdir[0] && rmdir(g_tmpdir) != 0)
		fprintf(stderr, "pmembench: rmdir %s: %s\n", g_tmpdir, strerror(errno));
}

static void write_json(FILE *out, const char *path, const struct result *f,
		       const struct result *m)
{
	const struct result *rs[2] = { f, m };
	const char *names[2] = { "force", "msync" };
	fputs("{", out);
	for (int k = 0; k < 2; k++)
		fprintf(out, "%s\n  \"%s\": {\"alloc_tx_per_s\": %.1f, \"update_tx_per_s\": %.1f, "
			"\"read_per_s\": %.1f, \"open_ms\": %.4f, \"close_ms\": %.4f, \"count\": %lu}",
			k ? "," : "", names[k], rs[k]->alloc_tx_per_s, rs[k]->update_tx_per_s,
			rs[k]->read_per_s, rs[k]->open_ms, rs[k]->close_ms, rs[k]->count);
	fputs("\n}\n", out);
	int bad = ferror(out);
	if (fclose(out) != 0 || bad)
		fatal("writing %s failed", path);
}

static void usage(void)
{
	fprintf(stderr, "usage: pmembench [--dir DIR] [--count N] [--json FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *json = NULL, *mode = NULL;
	unsigned long n = DEFAULT_COUNT;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(a, "--dir") == 0) {
			dir = v;
		} else if (strcmp(a, "--json") == 0) {
			json = v;
		} else if (strcmp(a, "--mode") == 0) {
			if (strcmp(v, "force") != 0 && strcmp(v, "msync") != 0)
				fatal("--mode must be force or msync");
			mode = v;
		} else if (strcmp(a, "--count") == 0) {
			char *end;
			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || end == v || n == 0 || v[0] == '-')
				fatal("--count needs a positive integer, got '%s'", v);
		} else {
			usage();
		}
	}

	if (mode) { /* hidden: we are a re-exec'd child */
		g_mode = mode;
		if (!dir)
			fatal("--mode needs --dir");
		return run_child(dir, n);
	}

	if (!dir) {
		snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/pmembench.XXXXXX");
		if (!mkdtemp(g_tmpdir))
			fatal("mkdtemp: %s", strerror(errno));
		atexit(remove_tmpdir);
		dir = g_tmpdir;
	} else if (access(dir, W_OK | X_OK) != 0) {
		fatal("--dir %s is not a writable directory: %s", dir, strerror(errno));
	}

	/* open the JSON file now so a bad path fails before the long run */
	FILE *json_out = NULL;
	if (json && !(json_out = fopen(json, "w")))
		fatal("cannot open %s: %s", json, strerror(errno));

	/* re-exec the very binary that is running, wherever it was found */
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		fatal("readlink /proc/self/exe: %s", strerror(errno));
	self[len] = '\0';

	struct result force, msync_r;
	run_mode(self, "force", dir, n, &force);
	run_mode(self, "msync", dir, n < MSYNC_MAX ? n : MSYNC_MAX, &msync_r);

	const struct result *rs[2] = { &force, &msync_r };
	const char *names[2] = { "force", "msync" };
	printf("%-10s %-6s %8s %16s\n", "operation", "mode", "count", "result");
	for (int k = 0; k < 2; k++) {
		const struct result *r = rs[k];
		printf("%-10s %-6s %8lu %12.0f /s\n", "alloc-tx", names[k], r->count, r->alloc_tx_per_s);
		printf("%-10s %-6s %8lu %12.0f /s\n", "update-tx", names[k], r->count, r->update_tx_per_s);
		printf("%-10s %-6s %8lu %12.0f /s\n", "read", names[k], r->count, r->read_per_s);
		printf("%-10s %-6s %8lu %12.3f ms\n", "open", names[k], r->count, r->open_ms);
		printf("%-10s %-6s %8lu %12.3f ms\n", "close", names[k], r->count, r->close_ms);
	}
	if (json_out)
		write_json(json_out, json, &force, &msync_r);
	return 0;
}
