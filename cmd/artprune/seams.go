package main

import (
	"context"
	"io"
	"sync"
	"time"

	jflog "github.com/jfrog/jfrog-client-go/utils/log"

	"github.com/artprune/artprune/artifactory"
)

// clientOptionsKey is the context key of extra Artifactory client options.
type clientOptionsKey struct{}

// withClientOptions returns a context whose commands build their Artifactory client with opts appended. It is the
// tests' way to shorten backoff and timeouts; the command line offers no such knob.
func withClientOptions(ctx context.Context, opts ...artifactory.Option) context.Context {
	return context.WithValue(ctx, clientOptionsKey{}, opts)
}

// clientOptions returns the extra client options carried by ctx, if any.
func clientOptions(ctx context.Context) []artifactory.Option {
	opts, _ := ctx.Value(clientOptionsKey{}).([]artifactory.Option)
	return opts
}

var quietJFrogOnce sync.Once

// quietJFrogLog silences jfrog-client-go's package-level logger, which by default writes to stderr outside
// artprune's own logging (server answers on retries, request URLs at debug level). artprune reports every error
// that matters itself, through its logger and its report.
func quietJFrogLog() {
	quietJFrogOnce.Do(func() { jflog.SetLogger(jflog.NewLogger(jflog.ERROR, io.Discard)) })
}

// minEveryKey is the context key of the shortest --every serve accepts.
type minEveryKey struct{}

// withMinEvery returns a context in which serve accepts an --every as short as d: the tests' way to see several
// scheduled runs in one process. The command line keeps its minute.
func withMinEvery(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, minEveryKey{}, d)
}

// minEvery returns the shortest --every serve accepts: a minute, unless ctx says otherwise.
func minEvery(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(minEveryKey{}).(time.Duration); ok {
		return d
	}
	return time.Minute
}

// environKey is the context key of the process's environment as a list.
type environKey struct{}

// withEnviron returns a context whose commands can list the environment with environ (os.Environ for the process):
// artprune reads its settings by name through getenv, but a JFrog CLI config token may sit in any JF_ENV_*
// variable, which only a list shows.
func withEnviron(ctx context.Context, environ func() []string) context.Context {
	return context.WithValue(ctx, environKey{}, environ)
}

// environOf returns the environment list ctx carries; none when it carries no list.
func environOf(ctx context.Context) []string {
	if f, ok := ctx.Value(environKey{}).(func() []string); ok && f != nil {
		return f()
	}
	return nil
}
