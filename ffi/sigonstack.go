package main

// #include <signal.h>
// #include <stddef.h>
//
// // tasker_fix_sigonstack adds SA_ONSTACK to every installed handler that
// // lacks it, so a signal delivered on a Go thread runs on the alternate
// // signal stack instead of a small goroutine stack. Ruby's trap handlers
// // are installed without it. It returns how many handlers it changed.
// static int tasker_fix_sigonstack(void) {
// 	int changed = 0;
// 	for (int sig = 1; sig < NSIG; sig++) {
// 		struct sigaction old;
// 		if (sig == SIGKILL || sig == SIGSTOP) continue;
// 		if (sigaction(sig, NULL, &old) != 0) continue;
// 		if (!(old.sa_flags & SA_SIGINFO) && (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) continue;
// 		if (old.sa_flags & SA_ONSTACK) continue;
// 		old.sa_flags |= SA_ONSTACK;
// 		if (sigaction(sig, &old, NULL) == 0) changed++;
// 	}
// 	return changed;
// }
import "C"

// ensureSigOnStack is tasker_ensure_sigonstack's body (see go-ruby-ffi.md §2).
func ensureSigOnStack() int { return int(C.tasker_fix_sigonstack()) }
