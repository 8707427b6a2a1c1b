package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// planOptions are the flags of "artprune plan".
type planOptions struct {
	runFlags
	out string
}

func newPlanCmd(getenv func(string) string) *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan --repo KEY... --out plan.json",
		Short: "Write what would be deleted, with the evidence, for a person to approve",
		Long: `plan judges like a dry run of prune and writes the folders it would delete to a plan file, each with its evidence:
image, digest, media type, the sha256 of its manifest files, its age on the server's clock, and why it goes. The
plan also records the grace period, the keep property, the image filters, the server and the artprune version.

Review the plan (or its report), then run "artprune apply plan.json": apply judges every repository again from
Artifactory and deletes only the approved folders whose evidence still holds.`,
		Example: `  artprune plan --server-id prod --repo 'docker-*' --min-age 7d --out plan.json --summary-markdown summary.md
  artprune apply plan.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd, getenv)
		},
	}
	f := cmd.Flags()
	o.registerAll(f)
	f.StringVar(&o.out, "out", "", "write the plan to this file (required)")
	return cmd
}

func (o *planOptions) run(cmd *cobra.Command, getenv func(string) string) error {
	ctx := cmd.Context()
	if o.out == "" && o.configFile == "" {
		return usageErrorf("--out is required: name the plan file to write")
	}
	s, err := o.open(cmd, getenv, o.selection())
	if err != nil {
		return err
	}
	if o.out == "" {
		s.closeProgress()
		return usageErrorf("--out is required: name the plan file to write")
	}
	out := s.run(ctx, run.Options{Evidence: true})
	s.closeProgress()
	if out.Err == nil && ctx.Err() == nil {
		ver, _, _ := buildVersion()
		pl := out.PlanFile(ver)
		if err := planfile.WriteFile(o.out, pl); err != nil {
			return fmt.Errorf("write the plan: %w", err)
		}
		n := 0
		for _, r := range pl.Repositories {
			n += len(r.Folders)
		}
		s.log.Info("plan written", "file", o.out, "folders", n, "repositories", len(pl.Repositories))
	}
	return s.publish(ctx, cmd.OutOrStdout(), out)
}

// applyOptions are the flags of "artprune apply".
type applyOptions struct {
	runFlags
	// confirmMinAge and confirmKeep are --min-age and --keep-property on apply's command line: they change nothing,
	// they confirm a plan setting weaker than the default (see confirmSettings).
	confirmMinAge durationValue
	confirmKeep   string
	// confirmTags is --delete-tag on apply's command line: a plan of artprune delete deletes tags, so apply runs
	// it only when the same REPO/IMAGE:TAG arguments are given again (see confirmTagPlan).
	confirmTags []string
}

func newApplyCmd(getenv func(string) string) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply PLAN.json",
		Short: "Delete the folders of an approved plan that are still dangling, unchanged and old enough",
		Long: `apply reads a plan written by "artprune plan", judges each of its repositories again from Artifactory (a fresh
inventory with the plan's grace period, keep property and image filters, then the re-check for pushes), and deletes
only the folders that are both in the plan and still to be deleted now, with the same digest, the same manifest
checksums and an age above the grace period. Nothing outside the plan is ever deleted. Every approved folder not
deleted is reported under not_applied with why: gone already, kept now (and why), or its evidence changed.

A plan of "artprune delete --out" is applied the same way: apply judges again with exactly the approved tags,
deletes the approved tag folders whose manifests are unchanged, and the approved digest folders only they keep now.
Such a plan deletes tags, so apply runs it only when --delete-tag gives each of its REPO/IMAGE:TAG arguments again.

The plan file is checked strictly: its schema version and kind, no unknown field, every path one the delete guard
accepts. It must have been made against the same Artifactory URL.

apply shows the plan's settings first. Nothing authenticates a plan file, so a grace period shorter than the
default (24h) or a keep property other than the default (artprune.keep=true, or none) is refused unless the same
value is given again to apply itself with --min-age or --keep-property: those flags confirm the plan's values, they
never change them.`,
		Example: `  artprune apply plan.json --report applied.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("apply takes one argument, the plan file; got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, getenv, args[0])
		},
	}
	f := cmd.Flags()
	o.conn.register(f)
	o.registerExec(f)
	o.registerOutput(f)
	o.registerLog(f)
	f.Var(&o.confirmMinAge, "min-age", "confirm the plan's grace period when it is shorter than the default: give the plan's value")
	f.StringVar(&o.confirmKeep, "keep-property", "", "confirm the plan's keep property when it is not the default: give the plan's value ('' for none)")
	f.StringArrayVar(&o.confirmTags, "delete-tag", nil, "confirm a plan of artprune delete: give each of its REPO/IMAGE:TAG arguments again (repeatable)")
	return cmd
}

func (o *applyOptions) run(cmd *cobra.Command, getenv func(string) string, path string) error {
	ctx := cmd.Context()
	pl, err := planfile.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	// Only the command line confirms: this runs before --config is read.
	if err := confirmSettings(pl, path, cmd.Flags().Changed("min-age"), time.Duration(o.confirmMinAge),
		cmd.Flags().Changed("keep-property"), o.confirmKeep); err != nil {
		return err
	}
	if err := confirmTagPlan(pl, path, o.confirmTags); err != nil {
		return err
	}
	ro := run.OptionsFromPlan(pl)
	sel := selection{keepProperty: ro.KeepProperty, includes: ro.IncludeImages, excludes: ro.ExcludeImages,
		minAge: ro.MinAge, pulledWithin: ro.KeepPulledWithin, plan: pl}
	s, err := o.open(cmd, getenv, sel)
	if err != nil {
		return err
	}
	s.log.Info("the plan's settings", "plan", path, "settings", pl.Summary())
	for _, w := range pl.Weakenings(prune.DefaultMinAge, DefaultKeepProperty) {
		s.log.Warn("a plan setting weaker than the default, confirmed on the command line", "setting", w.String())
	}
	out := s.run(ctx, ro)
	s.closeProgress()
	return s.publish(ctx, cmd.OutOrStdout(), out)
}

// confirmSettings refuses a plan whose settings protect less than the defaults unless apply's command line gives
// the same values (minAgeSet, keepSet say whether --min-age and --keep-property were given), and refuses a flag
// that differs from the plan: apply judges with the plan's settings, and a flag never changes them.
func confirmSettings(pl *planfile.Plan, path string, minAgeSet bool, minAge time.Duration, keepSet bool, keep string) error {
	if minAgeSet && minAge != pl.MinAge() {
		return usageErrorf("--min-age %s differs from the grace period of plan %s, %s: apply judges with the plan's; give the plan's value to confirm it, or make a new plan",
			planfile.FormatDuration(minAge), path, planfile.FormatDuration(pl.MinAge()))
	}
	if keepSet && keep != pl.KeepProperty {
		return usageErrorf("--keep-property %q differs from the keep property of plan %s, %q: apply judges with the plan's; give the plan's value to confirm it, or make a new plan",
			keep, path, pl.KeepProperty)
	}
	var unconfirmed []string
	for _, w := range pl.Weakenings(prune.DefaultMinAge, DefaultKeepProperty) {
		switch {
		case w.Flag == "min-age" && minAgeSet, w.Flag == "keep-property" && keepSet:
			continue
		}
		unconfirmed = append(unconfirmed, fmt.Sprintf("%s; to apply it anyway, give --%s %s", w, w.Flag, shellQuote(w.Plan)))
	}
	if len(unconfirmed) > 0 {
		return usageErrorf("plan %s has settings weaker than the defaults, and nothing authenticates a plan file: %s",
			path, strings.Join(unconfirmed, "; "))
	}
	return nil
}

// shellQuote quotes s for a command line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"$`\\*?[]#~!&|;<>(){}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
