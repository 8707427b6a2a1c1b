package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/internal/planfile"
	"github.com/artprune/artprune/prune"
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
	out := s.run(ctx, runSpec{capture: true})
	s.closeProgress()
	if out.err == nil && ctx.Err() == nil {
		pl := buildPlan(s, out)
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

// buildPlan turns a dry run into a plan file.
func buildPlan(s *session, out *runOutput) *planfile.Plan {
	ver, _, _ := buildVersion()
	pl := &planfile.Plan{
		SchemaVersion: planfile.SchemaVersion, Kind: planfile.Kind, ArtpruneVersion: ver,
		CreatedAt: time.Now().UTC().Format(time.RFC3339), URL: s.client.BaseURL(),
		MinAgeSeconds: int64(s.sel.minAge / time.Second), KeepProperty: s.sel.keepProperty,
		KeepPulledWithinSeconds: int64(s.sel.pulledWithin / time.Second),
		IncludeImages:           append([]string{}, s.sel.includes...), ExcludeImages: append([]string{}, s.sel.excludes...),
		Repositories: []planfile.Repo{},
	}
	for _, plan := range out.plans {
		r := planfile.Repo{Repo: plan.Repo, Folders: []planfile.Folder{}}
		if !plan.ServerTime.IsZero() {
			r.ServerTime = plan.ServerTime.UTC().Format(time.RFC3339Nano)
		}
		if plan.Err != nil {
			r.Error = plan.Err.Error()
			pl.Repositories = append(pl.Repositories, r)
			continue
		}
		ev := out.evidence[plan.Repo]
		for _, fo := range plan.Deletions() {
			ms := ev[fo.Path]
			if len(ms) == 0 {
				s.log.Error("no manifest evidence for a folder to delete; left out of the plan", "repo", plan.Repo, "folder", fo.Path)
				continue
			}
			f := planfile.Folder{Path: fo.Path, Image: fo.Image, Digest: string(fo.Digest), MediaType: fo.MediaType,
				Manifests: slices.Clone(ms), AgeSeconds: int64(fo.Age / time.Second), Reason: planfile.ReasonDangling}
			if plan.BytesKnown {
				b := fo.Bytes
				f.Bytes = &b
			}
			r.Folders = append(r.Folders, f)
		}
		pl.Repositories = append(pl.Repositories, r)
	}
	return pl
}

// applyOptions are the flags of "artprune apply".
type applyOptions struct {
	runFlags
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

The plan file is checked strictly: its schema version and kind, no unknown field, every path one the delete guard
accepts. It must have been made against the same Artifactory URL.`,
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
	return cmd
}

func (o *applyOptions) run(cmd *cobra.Command, getenv func(string) string, path string) error {
	ctx := cmd.Context()
	pl, err := planfile.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	sel := selection{keepProperty: pl.KeepProperty, includes: pl.IncludeImages, excludes: pl.ExcludeImages,
		minAge: pl.MinAge(), pulledWithin: pl.KeepPulledWithin(), planURL: pl.URL}
	s, err := o.open(cmd, getenv, sel)
	if err != nil {
		return err
	}
	spec := runSpec{delete: true, approved: pl}
	if len(pl.DeleteTags) > 0 { // a plan of artprune delete
		spec.tags, spec.capture = tagPlanPatterns(pl), true
	}
	out := s.run(ctx, spec)
	s.closeProgress()
	return s.publish(ctx, cmd.OutOrStdout(), out)
}

// approve withdraws every deletion of plan (freshly judged and re-checked) that the approved plan does not hold,
// or whose evidence differs from the approved entry, and lists the approved entries that will not be deleted, with
// why, in plan.NotApplied.
func approve(plan *prune.RepoPlan, approved *planfile.Plan, evidence map[string][]planfile.Manifest) {
	entries := approved.Index(plan.Repo)
	minAge := approved.MinAge()
	if len(approved.DeleteTags) > 0 {
		minAge = 0 // the grace period does not protect what only the named tags reach
	}
	for _, fo := range plan.Deletions() {
		a, ok := entries[fo.Path]
		if !ok {
			plan.Withdraw(fo.Path, prune.ReasonNotApproved, errors.New("dangling now, but not in the approved plan"))
			continue
		}
		if why := mismatch(a, fo, evidence[fo.Path], minAge); why != "" {
			plan.Withdraw(fo.Path, prune.ReasonNotApproved, fmt.Errorf("changed since the plan was approved: %s", why))
		}
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	plan.NotApplied = []prune.NotAppliedReport{}
	for _, p := range paths {
		why := ""
		fo, found := plan.Folder(p)
		switch {
		case plan.Err != nil:
			why = "the repository failed, nothing is deleted in it: " + firstLineOf(plan.Err.Error())
		case !found:
			why = "no longer present (deleted since the plan, or its image is excluded)"
		case fo.Delete:
			continue
		case fo.Reason == prune.ReasonNotApproved && fo.Err != nil:
			why = fo.Err.Error()
		default:
			why = "kept now: " + string(fo.Reason)
			if fo.Err != nil {
				why += ": " + firstLineOf(fo.Err.Error())
			}
		}
		plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: p, Why: why})
	}
}

// mismatch says how a folder judged now differs from its approved entry, or "" if it does not.
func mismatch(a planfile.Folder, fo prune.Folder, manifests []planfile.Manifest, minAge time.Duration) string {
	switch {
	case string(fo.Digest) != a.Digest || fo.Image != a.Image:
		return fmt.Sprintf("image %s digest %s, approved %s %s", fo.Image, fo.Digest, a.Image, a.Digest)
	case !slices.Equal(manifests, a.Manifests):
		return fmt.Sprintf("its manifest files are %s, approved %s", manifestList(manifests), manifestList(a.Manifests))
	case fo.MediaType != a.MediaType:
		return fmt.Sprintf("media type %q, approved %q", fo.MediaType, a.MediaType)
	case fo.Age < minAge:
		return fmt.Sprintf("age %s is below the grace period %s", prune.HumanDuration(fo.Age), prune.HumanDuration(minAge))
	}
	return ""
}

func manifestList(ms []planfile.Manifest) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Name+"@sha256:"+m.SHA256)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
