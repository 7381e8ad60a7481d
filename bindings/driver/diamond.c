/*
 * diamond: drives a whole diamond workflow (a -> b, c -> d) through
 * libtasker_core's C ABI, with no Ruby, and checks the ABI's promises on the
 * way: status codes, error JSON, handle lifetimes, panic recovery.
 *
 *   diamond DATABASE_URL      (a database of its own; `make -C bindings driver`
 *                              creates and drops one)
 *
 * Exits 0 when everything held, 1 naming the first failure.
 */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtasker_core.h"

#define NS "c_driver"
#define TIMEOUT_MS 10000

static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("diamond: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* check fails unless rc is 0, printing the library's error JSON. */
static void check(const char *what, int rc, char *err) {
	if (rc != TASKER_OK) die("%s: rc %d: %s", what, rc, err ? err : "(no error JSON)");
	if (err != NULL) die("%s: rc 0 but err_out was set: %s", what, err);
}

/* expect_err checks a failed call's code and that its error JSON names code_name. */
static void expect_err(const char *what, int rc, char *err, int want, const char *code_name) {
	char needle[64];
	if (rc != want) die("%s: want rc %d, got %d (%s)", what, want, rc, err ? err : "no error JSON");
	snprintf(needle, sizeof needle, "\"code\":\"%s\"", code_name);
	if (err == NULL || strstr(err, needle) == NULL) die("%s: error JSON lacks %s: %s", what, needle, err ? err : "NULL");
	tasker_string_free(err);
}

/* EXPECT runs CALL (which writes err), then checks its code: the call must be
 * sequenced before err is read, so it cannot be an argument next to err. */
#define EXPECT(what, call, want, code_name)                 \
	do {                                                    \
		int rc_;                                            \
		err = NULL;                                         \
		rc_ = (call);                                       \
		expect_err((what), rc_, err, (want), (code_name));  \
		err = NULL;                                         \
	} while (0)

static char *handle_json(uint64_t h) {
	char *out = NULL, *err = NULL;
	int64_t len = 0;
	check("tasker_handle_json", tasker_handle_json(h, &out, &len, &err), err);
	if ((int64_t)strlen(out) != len) die("tasker_handle_json: len_out %lld != strlen %zu", (long long)len, strlen(out));
	return out;
}

static int64_t handle_int64(uint64_t h, const char *field) {
	int64_t v = 0;
	char *err = NULL;
	check(field, tasker_handle_int64(h, (char *)field, &v, &err), err);
	return v;
}

static void handle_free(uint64_t h) {
	char *err = NULL;
	check("tasker_handle_free", tasker_handle_free(h, &err), err);
}

/* call runs a JSON-taking engine export and returns its handle. */
typedef int (*json_export)(char *, int64_t, uint64_t *, char **);
static uint64_t call(const char *what, json_export fn, const char *json) {
	uint64_t h = 0;
	char *err = NULL;
	check(what, fn((char *)json, TIMEOUT_MS, &h, &err), err);
	if (h == 0) die("%s: rc 0 but handle 0", what);
	return h;
}

static void on_usr1(int sig) { (void)sig; }

/* check_sigonstack installs a handler without SA_ONSTACK, as Ruby's trap does,
 * and checks that tasker_ensure_sigonstack adds the flag. */
static void check_sigonstack(void) {
	struct sigaction sa, now;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0) die("sigaction(SIGUSR1)");
	int changed = tasker_ensure_sigonstack();
	if (changed < 1) die("tasker_ensure_sigonstack changed %d handlers, want >= 1", changed);
	if (sigaction(SIGUSR1, NULL, &now) != 0 || !(now.sa_flags & SA_ONSTACK) || now.sa_handler != on_usr1)
		die("SIGUSR1 handler lacks SA_ONSTACK (or was replaced) after tasker_ensure_sigonstack");
	if (tasker_ensure_sigonstack() != 0) die("tasker_ensure_sigonstack is not idempotent");
}

static int count(const char *s, const char *needle) {
	int n = 0;
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle)) n++;
	return n;
}

int main(int argc, char **argv) {
	const char *url = argc > 1 ? argv[1] : getenv("TASKER_DRIVER_DATABASE_URL");
	char buf[4096], *err = NULL;
	int64_t task_id;
	uint64_t h;
	int completed = 0;

	if (url == NULL || *url == '\0') die("usage: diamond DATABASE_URL (a database of its own)");
	if (strpbrk(url, "\"\\") != NULL) die("DATABASE_URL must not contain quotes or backslashes");
	if (tasker_abi_version() != TASKER_ABI_VERSION)
		die("library ABI version %d, header %d: rebuild with make lib", tasker_abi_version(), TASKER_ABI_VERSION);
	check_sigonstack();

	/* Before init: not_initialized. */
	EXPECT("status before init", tasker_task_status(1, 0, &h, &err), TASKER_ERR_NOT_INITIALIZED, "not_initialized");

	snprintf(buf, sizeof buf, "{\"database_url\":\"%s\",\"pool_size\":4,\"log_level\":\"error\"}", url);
	check("tasker_init", tasker_init(buf, &err), err);

	h = 0;
	check("tasker_migrate", tasker_migrate(TIMEOUT_MS, &h, &err), err);
	printf("migrated to version %lld\n", (long long)handle_int64(h, "current_version"));
	handle_free(h);

	h = call("tasker_template_register", tasker_template_register,
	         "{\"namespace\":\"" NS "\",\"name\":\"diamond\",\"version\":\"1.0.0\",\"steps\":["
	         "{\"name\":\"a\",\"handler\":\"A\"},"
	         "{\"name\":\"b\",\"handler\":\"B\",\"depends_on\":[\"a\"]},"
	         "{\"name\":\"c\",\"handler\":\"C\",\"depends_on\":[\"a\"]},"
	         "{\"name\":\"d\",\"handler\":\"D\",\"depends_on\":[\"b\",\"c\"]}]}");
	handle_free(h);

	h = call("tasker_task_initialize", tasker_task_initialize,
	         "{\"namespace\":\"" NS "\",\"name\":\"diamond\",\"context\":{\"driver\":\"c\"}}");
	task_id = handle_int64(h, "task_id");
	if (handle_int64(h, "step_count") != 4) die("step_count is not 4");
	handle_free(h);
	printf("task %lld initialized\n", (long long)task_id);

	/* Claim and complete until nothing is ready. */
	for (int round = 0; round < 10; round++) {
		uint64_t claim = call("tasker_step_claim", tasker_step_claim,
		                      "{\"namespaces\":[\"" NS "\"],\"limit\":10,\"worker_id\":\"c-driver\"}");
		int64_t n = handle_int64(claim, "count");
		char *json = handle_json(claim);
		const char *p = json;
		handle_free(claim);
		for (int64_t i = 0; i < n; i++) {
			long long step_id;
			char token[64];
			p = strstr(p, "\"workflow_step_id\":");
			if (p == NULL || sscanf(p, "\"workflow_step_id\":%lld", &step_id) != 1) die("claim JSON: no workflow_step_id: %s", json);
			p = strstr(p, "\"claim_token\":\"");
			if (p == NULL || sscanf(p, "\"claim_token\":\"%36[0-9a-f-]\"", token) != 1) die("claim JSON: no claim_token: %s", json);
			snprintf(buf, sizeof buf, "{\"step_id\":%lld,\"claim_token\":\"%s\",\"results\":{\"by\":\"c\",\"step_id\":%lld}}", step_id, token, step_id);
			h = call("tasker_step_complete", tasker_step_complete, buf);
			handle_free(h);
			completed++;
			/* The same token again: stale_claim, never a second result. */
			h = 1;
			EXPECT("complete twice", tasker_step_complete(buf, TIMEOUT_MS, &h, &err), TASKER_ERR_STALE_CLAIM, "stale_claim");
			if (h != 0) die("a failed call left a handle in *out");
		}
		tasker_string_free(json);
		printf("round %d: %lld step(s) completed\n", round + 1, (long long)n);
		if (n == 0) break;
	}
	if (completed != 4) die("completed %d steps, want 4", completed);

	h = 0;
	check("tasker_task_status", tasker_task_status(task_id, TIMEOUT_MS, &h, &err), err);
	if (handle_int64(h, "complete") != 1) die("task is not complete");
	{
		char *json = handle_json(h);
		/* the task and its four steps, each "status":"complete" */
		if (count(json, "\"status\":\"complete\"") != 5 || count(json, "\"status\":\"") != 5)
			die("task status JSON is not all complete: %s", json);
		tasker_string_free(json);
	}

	/* Handles: a double free and an unknown handle are invalid_handle (12). */
	handle_free(h);
	EXPECT("double free", tasker_handle_free(h, &err), TASKER_ERR_INVALID_HANDLE, "invalid_handle");
	EXPECT("unknown handle", tasker_handle_free(12345, &err), TASKER_ERR_INVALID_HANDLE, "invalid_handle");
	{
		char *out = NULL;
		EXPECT("json of a freed handle", tasker_handle_json(h, &out, NULL, &err), TASKER_ERR_INVALID_HANDLE, "invalid_handle");
	}

	/* Bad input: validation, no handle; NULL json: abi. */
	EXPECT("unknown field", tasker_task_initialize("{\"namespace\":\"" NS "\",\"name\":\"diamond\",\"context\":{},\"bogus\":1}", TIMEOUT_MS, &h, &err), TASKER_ERR_VALIDATION, "validation");
	EXPECT("NULL json", tasker_task_initialize(NULL, TIMEOUT_MS, &h, &err), TASKER_ERR_ABI, "abi");
	EXPECT("unknown task", tasker_task_status(INT64_MAX, TIMEOUT_MS, &h, &err), TASKER_ERR_NOT_FOUND, "not_found");

	/* A panic inside the library is an internal error, and the process lives on. */
	EXPECT("debug panic", tasker_debug_panic(&err), TASKER_ERR_INTERNAL, "internal");

	if (tasker_live_handles() != 0) die("%lld handle(s) still live", (long long)tasker_live_handles());

	check("tasker_shutdown", tasker_shutdown(TIMEOUT_MS, &err), err);
	EXPECT("status after shutdown", tasker_task_status(task_id, 0, &h, &err), TASKER_ERR_NOT_INITIALIZED, "not_initialized");
	printf("diamond: OK (task %lld complete, 4 steps, 0 live handles)\n", (long long)task_id);
	return 0;
}
