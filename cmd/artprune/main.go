// Command artprune removes dangling Docker/OCI manifest folders from JFrog Artifactory local Docker repositories.
//
// Exit codes: 0 success; 1 a failure happened (nothing unsafe was done); 2 usage error;
// 130 interrupted by SIGINT and 143 by SIGTERM (in-flight deletes finished, the report was written).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case got = <-sigs:
			cancel()
		case <-done:
		}
	}()
	code := Main(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
	close(done)
	signal.Stop(sigs)
	switch {
	case got == os.Interrupt:
		code = ExitInterrupted
	case got == syscall.SIGTERM:
		code = ExitTerminated
	}
	os.Exit(code)
}
