package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1 // something failed; nothing unsafe was done
	ExitUsage       = 2
	ExitInterrupted = 130 // SIGINT
	ExitTerminated  = 143 // SIGTERM
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// usageError is a command line that cannot run: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errFailed reports a run that completed but had failures, already described in its report.
var errFailed = errors.New("artprune finished with failures (see the report)")

// Main runs artprune with args and returns the exit code. getenv reads the environment (tests pass their own).
func Main(ctx context.Context, args []string, streams Streams, getenv func(string) string) int {
	quietJFrogLog()
	root := NewRootCmd(streams, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFailed):
		return ExitFailure
	}
	fmt.Fprintln(streams.Err, "artprune: "+err.Error())
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(streams.Err, "Run 'artprune --help' for usage.")
		return ExitUsage
	}
	return ExitFailure
}

// NewRootCmd returns the artprune command tree.
func NewRootCmd(streams Streams, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "artprune",
		Short: "Remove dangling Docker/OCI manifests from JFrog Artifactory",
		Long: `artprune removes the digest folders (<image>/sha256:<hex>/) that overwritten or deleted multi-arch tags leave
behind in Artifactory local Docker repositories, with a mark-and-sweep over every tag, nested index and OCI referrer.
It is a dry run unless --delete is given.

Exit codes:
  0    success
  1    a failure happened (nothing unsafe was done; the report says what)
  2    usage error
  130  interrupted by SIGINT, 143 by SIGTERM (in-flight deletes finished, the report was written)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPruneCmd(getenv), newDeleteCmd(getenv), newPlanCmd(getenv), newApplyCmd(getenv), newServeCmd(getenv),
		newRestoreCmd(getenv), newDoctorCmd(getenv), newVersionCmd())
	return root
}
