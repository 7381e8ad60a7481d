/*
 * bench: per-call cost of libtasker_core's C ABI from C, no database.
 *
 *   make -C bindings bench-c          (or: build/bench [iterations])
 *
 * Prints ns/op for a no-op export, a handle create+free, and the strict JSON
 * round trip of a 50-step claim batch (decode into a handle, read it back as
 * JSON, free both). Each figure is the best of 5 runs.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtasker_core.h"

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what, char *err) {
	fprintf(stderr, "bench: %s failed: %s\n", what, err ? err : "(no error JSON)");
	exit(1);
}

static volatile int sink;

static void noop(long n) {
	for (long i = 0; i < n; i++) sink += tasker_abi_version();
}

static void handle(long n) {
	for (long i = 0; i < n; i++) {
		uint64_t h = 0;
		char *err = NULL;
		if (tasker_stats(&h, &err) != 0) fail("tasker_stats", err);
		if (tasker_handle_free(h, &err) != 0) fail("tasker_handle_free", err);
	}
}

static char *batch;

static void roundtrip(long n) {
	for (long i = 0; i < n; i++) {
		uint64_t h = 0;
		char *err = NULL, *out = NULL;
		int64_t len = 0;
		if (tasker_debug_echo("ClaimResult", batch, &h, &err) != 0) fail("tasker_debug_echo", err);
		if (tasker_handle_json(h, &out, &len, &err) != 0) fail("tasker_handle_json", err);
		tasker_string_free(out);
		if (tasker_handle_free(h, &err) != 0) fail("tasker_handle_free", err);
	}
}

/* claim_batch builds a 50-step ClaimResult like ffi/bench_test.go's. */
static char *claim_batch(int steps) {
	size_t cap = 1024 * (size_t)steps, off = 0;
	char *s = malloc(cap);
	off += (size_t)snprintf(s + off, cap - off, "{\"steps\":[");
	for (int i = 0; i < steps; i++) {
		off += (size_t)snprintf(s + off, cap - off,
		    "%s{\"workflow_step_id\":%d,\"task_id\":77,\"namespace\":\"orders\",\"task_name\":\"fulfil\",\"task_version\":\"1.0.0\","
		    "\"step_name\":\"step_%d\",\"handler\":\"Orders::FulfilStep\",\"handler_config\":{\"timeout\":30,\"queue\":\"default\"},"
		    "\"task_context\":{\"order_id\":12345,\"customer\":{\"id\":9,\"tier\":\"gold\"},\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}]},"
		    "\"inputs\":null,\"dependency_results\":{\"reserve\":{\"reservation\":\"r-1\"},\"validate\":{\"ok\":true}},"
		    "\"attempts\":1,\"retry_limit\":3,\"retryable\":true,\"claim_token\":\"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11\","
		    "\"lease_expires_at\":\"2026-01-01T00:00:00Z\"}",
		    i ? "," : "", 1000 + i, i);
	}
	snprintf(s + off, cap - off, "]}");
	return s;
}

static void run(const char *name, void (*fn)(long), long n) {
	double best = 0;
	fn(n / 10 + 1); /* warm up */
	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();
		fn(n);
		double per = (now_ns() - t0) / (double)n;
		if (r == 0 || per < best) best = per;
	}
	printf("%-36s %12.1f ns/op  (%ld ops, best of 5)\n", name, best, n);
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	if (n <= 0) n = 1000000;
	if (tasker_abi_version() != TASKER_ABI_VERSION) {
		fprintf(stderr, "bench: library ABI %d, header %d: rebuild with make lib\n", tasker_abi_version(), TASKER_ABI_VERSION);
		return 1;
	}
	batch = claim_batch(50);
	printf("libtasker_core C ABI, per call (reproduce: make -C bindings bench-c, or build/bench %ld)\n", n);
	run("tasker_abi_version (no-op)", noop, n);
	run("tasker_stats + tasker_handle_free", handle, n / 10);
	run("50-step claim batch JSON round trip", roundtrip, n / 2000 + 1);
	printf("claim batch: %zu bytes of JSON\n", strlen(batch));
	if (tasker_live_handles() != 0) {
		fprintf(stderr, "bench: %lld handles leaked\n", (long long)tasker_live_handles());
		return 1;
	}
	free(batch);
	return 0;
}
