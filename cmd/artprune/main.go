// Command artprune removes dangling Docker/OCI manifest folders from JFrog Artifactory local Docker repositories.
//
// Exit codes: 0 success; 1 a failure happened (nothing unsafe was done); 2 usage error;
// 130 interrupted by SIGINT and 143 by SIGTERM (in-flight deletes finished, the report was written).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	os.Exit(runProcess(context.Background()))
}

// runProcess runs artprune as a process: arguments, streams and environment from os, SIGINT and SIGTERM mapped to
// cancellation of parent's child context, and the exit code returned.
func runProcess(parent context.Context) int {
	clean := new(atomic.Bool) // serve sets it when a signal made it shut down cleanly: exit 0
	ctx, cancel := context.WithCancelCause(withCleanShutdownFlag(parent, clean))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Value // the first signal received
	go func() {
		sig := <-sigs
		got.Store(sig)
		cancel(fmt.Errorf("%s received", signalName(sig)))
		fmt.Fprintf(os.Stderr, "artprune: %s received: no new deletion starts; those in flight finish and the report "+
			"is written (send it again to quit at once, without the report)\n", signalName(sig))
		sig = <-sigs
		fmt.Fprintf(os.Stderr, "artprune: second %s: quitting at once; the report is not written\n", signalName(sig))
		os.Exit(signalExit(sig))
	}()
	code := Main(withEnviron(ctx, os.Environ), os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
	signal.Stop(sigs)
	if sig, ok := got.Load().(os.Signal); ok && !clean.Load() {
		code = signalExit(sig)
	}
	return code
}

// signalExit returns the exit code for a run stopped by sig: 128 + the signal number, as shells report it.
func signalExit(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return ExitTerminated
	}
	return ExitInterrupted
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}
