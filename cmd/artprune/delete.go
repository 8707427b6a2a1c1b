package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// deleteOptions are the flags of "artprune delete".
type deleteOptions struct {
	runFlags
	delete bool
	out    string
}

func newDeleteCmd(getenv func(string) string) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete REPO/IMAGE:TAG... [--delete]",
		Short: "Delete tags, multi-arch ones included, with exactly the digest folders only they kept",
		Long: `delete deletes the named tags the way JFrog documents, by deleting each tag folder (<image>/<tag>), never
through the Docker API's delete by digest, which also removes every other tag with that digest. With them go
exactly the digest folders that only those tags kept: their index children, nested indexes, attestations, and the
referrers (signatures, SBOMs) of what goes. Everything still kept by anything else stays: other tags, the keep
property, --keep-pulled-within, referrers of live images, and young pushes the named tags do not reach. The grace
period does not protect what only the named tags reach: you named them. Digest folders that were dangling already
are left to artprune prune.

TAG may be a glob: docker-local/app:pr-* names every tag of app starting with pr-. Without --delete it only
reports (dry run). With --delete it re-checks for pushes made meanwhile (an image that changed keeps its tags and
folders), deletes the tag folders, then the digest folders of every image whose named tags are all gone.

Exit codes: 0 success; 1 a failure happened (nothing unsafe was done); 2 usage error; 130/143 interrupted.`,
		Example: `  # What would deleting app's pull-request tags free? (dry run)
  artprune delete --access-token-file token.txt docker-local/app:pr-*

  # Delete a multi-arch tag and what only it kept
  artprune delete --server-id prod docker-local/team/app:1.4.2 --delete --report deleted.json

  # Write a plan to approve, then apply it
  artprune delete --server-id prod 'docker-local/app:pr-*' --out plan.json
  artprune apply plan.json --delete-tag 'docker-local/app:pr-*' --server-id prod`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("name the tags to delete: artprune delete REPO/IMAGE:TAG... (TAG may be a glob such as 'pr-*')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, getenv, args)
		},
	}
	f := cmd.Flags()
	o.conn.register(f)
	o.minAge = durationValue(prune.DefaultMinAge)
	f.StringVar(&o.keepProperty, "keep-property", DefaultKeepProperty, "a folder (or a file in it, or a folder above it) carrying this property, key=value or key, is never deleted and keeps what it references; empty disables")
	f.Var(&o.minAge, "min-age", "grace period: manifests younger than this that the named tags do not reach are kept with everything they reference")
	f.Var(&o.pulledWithin, "keep-pulled-within", "keep digest folders whose manifest was downloaded within this long, with everything they reference (0: off)")
	o.registerExec(f)
	o.registerOutput(f)
	o.registerLog(f)
	f.BoolVar(&o.delete, "delete", false, "delete; without it artprune only reports what it would delete (dry run)")
	f.StringVar(&o.out, "out", "", "write a plan file of the tag folders and digest folders to delete, for artprune apply (a dry run)")
	return cmd
}

// parseTagArgs parses the REPO/IMAGE:TAG arguments into patterns per repository.
func parseTagArgs(args []string) (map[string][]prune.TagPattern, error) {
	out := map[string][]prune.TagPattern{}
	for _, a := range args {
		repo, p, err := prune.ParseTagRef(a)
		if err != nil {
			return nil, usageError{err}
		}
		out[repo] = append(out[repo], p)
	}
	return out, nil
}

func (o *deleteOptions) run(cmd *cobra.Command, getenv func(string) string, args []string) error {
	tags, err := parseTagArgs(args)
	if err != nil {
		return err
	}
	if o.out != "" && o.delete {
		return usageErrorf("--out writes a plan to approve and apply later: it does not go with --delete")
	}
	s, err := o.open(cmd, getenv, selection{keepProperty: o.keepProperty, minAge: time.Duration(o.minAge), pulledWithin: time.Duration(o.pulledWithin)})
	if err != nil {
		return err
	}
	// The config file has been applied by open: take the settings now.
	s.sel.keepProperty, s.sel.minAge, s.sel.pulledWithin = o.keepProperty, time.Duration(o.minAge), time.Duration(o.pulledWithin)
	if s.sel.minAge <= 0 {
		s.closeProgress()
		return usageErrorf("--min-age must be positive: a grace period of zero could delete the children of a push in progress")
	}
	if s.sel.pulledWithin < 0 {
		s.closeProgress()
		return usageErrorf("--keep-pulled-within must not be negative (0 turns it off)")
	}
	ctx := cmd.Context()
	out := s.run(ctx, run.Options{Delete: o.delete, Tags: tags, Evidence: o.out != ""})
	s.closeProgress()
	if o.out != "" && out.Err == nil && ctx.Err() == nil {
		ver, _, _ := buildVersion()
		pl := out.TagPlanFile(ver, args)
		if err := planfile.WriteFile(o.out, pl); err != nil {
			return fmt.Errorf("write the plan: %w", err)
		}
		s.log.Info("plan written", "file", o.out, "repositories", len(pl.Repositories))
	}
	return s.publish(ctx, cmd.OutOrStdout(), out)
}

// confirmTagPlan refuses a plan of artprune delete unless apply's command line names the same tags (--delete-tag,
// once per REPO/IMAGE:TAG argument of the plan, in any order): nothing authenticates a plan file, and such a plan
// deletes tags. It refuses --delete-tag for a prune plan.
func confirmTagPlan(pl *planfile.Plan, path string, confirm []string) error {
	if len(pl.DeleteTags) == 0 {
		if len(confirm) > 0 {
			return usageErrorf("--delete-tag: plan %s deletes no tags (it is a plan of artprune plan, not of artprune delete)", path)
		}
		return nil
	}
	if !slices.Equal(slices.Sorted(slices.Values(confirm)), slices.Sorted(slices.Values(pl.DeleteTags))) {
		var args []string
		for _, a := range pl.DeleteTags {
			args = append(args, "--delete-tag "+shellQuote(a))
		}
		return usageErrorf("plan %s deletes tags (%s): nothing authenticates a plan file, so confirm them by giving them again: %s",
			path, strings.Join(pl.DeleteTags, ", "), strings.Join(args, " "))
	}
	return nil
}
