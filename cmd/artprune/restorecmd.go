package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// restoreOptions are the flags of "artprune restore".
type restoreOptions struct {
	runFlags
	dryRun           bool
	reportWithoutURL bool
}

func newRestoreCmd(getenv func(string) string) *cobra.Command {
	o := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore REPORT.json",
		Short: "Undo a run: bring the folders its report lists as deleted back from the Trash Can",
		Long: `restore reads the JSON report of an artprune prune, apply or delete run (--report FILE, or -o json) and moves
every folder it lists as deleted back from Artifactory's Trash Can to where it was, with its files and properties:
the digest folders first, then the tag folders artprune delete deleted. It needs an admin (Artifactory's restore API
does), and Artifactory Pro or above.

A folder whose path exists again (pushed since the run) is never overwritten: it is reported. A folder the Trash
Can no longer holds (its retention expired, it was emptied, or the Trash Can was disabled) is reported. The exit
code is 0 only when every folder came back; --dry-run says what would happen and restores nothing.

The report names the Artifactory the run used ("url"); restore refuses a report of another Artifactory (its
Trash Can may hold other folders at the same paths), and one that names none (written by an older artprune)
unless --report-without-url says you checked which server it is of.`,
		Example: `  artprune restore report.json --dry-run
  artprune restore report.json --report restored.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("restore takes one argument, the JSON report of the run to undo; got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, getenv, args[0])
		},
	}
	f := cmd.Flags()
	o.conn.register(f)
	o.pageSize = artifactory.DefaultPageSize
	o.perf.cacheMaxAge = durationValue(defaultCacheMaxAge)
	f.IntVar(&o.concurrency, "concurrency", 8, "restores in flight at once")
	f.StringVarP(&o.output, "output", "o", "text", "output format on stdout: text or json")
	f.StringVar(&o.reportFile, "report", "", "also write the JSON restore report to this file")
	f.BoolVar(&o.dryRun, "dry-run", false, "say what would be restored, and why anything would not, without restoring")
	f.BoolVar(&o.reportWithoutURL, "report-without-url", false, "restore a report that names no Artifactory URL (written by an older artprune) "+
		"through this connection's Artifactory: check first that the run was against it. A report naming another URL is always refused")
	o.registerLog(f)
	return cmd
}

func (o *restoreOptions) run(cmd *cobra.Command, getenv func(string) string, path string) error {
	ctx := cmd.Context()
	f, err := os.Open(path)
	if err != nil {
		return usageError{err}
	}
	deleted, err := prune.ReadDeletedReport(f)
	f.Close()
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	s, err := o.openWith(cmd, getenv, selection{}, false)
	if err != nil {
		return err
	}
	rep, err := run.Restore(ctx, s.client, deleted, run.RestoreOptions{DryRun: o.dryRun, Concurrency: o.concurrency, Report: path,
		ReportWithoutURL: o.reportWithoutURL, Logger: s.log})
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	if o.reportFile != "" {
		if err := writeFileAtomically(o.reportFile, func(w io.Writer) error { return writeRestoreJSON(w, rep) }); err != nil {
			return fmt.Errorf("write the restore report: %w", err)
		}
	}
	out := cmd.OutOrStdout()
	if o.output == "json" {
		err = writeRestoreJSON(out, rep)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w): the report says what was restored", ctx.Err())
	}
	if !rep.OK() {
		return errFailed
	}
	return nil
}

func writeRestoreJSON(w io.Writer, rep *prune.RestoreReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
