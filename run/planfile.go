package run

import (
	"slices"
	"time"

	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
)

// PlanFile turns a dry run made with Options.Evidence into a plan file for a person to approve and for a later
// run with [OptionsFromPlan] to apply: the folders it would delete, each with its evidence, and the run's
// settings. version names the program that made it (the plan's artprune_version). A folder without evidence is
// logged and left out.
func (r *Result) PlanFile(version string) *planfile.Plan {
	pl := &planfile.Plan{
		SchemaVersion: planfile.SchemaVersion, Kind: planfile.Kind, ArtpruneVersion: version,
		CreatedAt: time.Now().UTC().Format(time.RFC3339), URL: r.url,
		MinAgeSeconds: int64(r.opts.MinAge / time.Second), KeepProperty: r.opts.KeepProperty,
		KeepPulledWithinSeconds: int64(r.opts.KeepPulledWithin / time.Second),
		IncludeImages:           append([]string{}, r.opts.IncludeImages...), ExcludeImages: append([]string{}, r.opts.ExcludeImages...),
		Repositories: []planfile.Repo{},
	}
	for _, plan := range r.Plans {
		rp := planfile.Repo{Repo: plan.Repo, Folders: []planfile.Folder{}}
		if !plan.ServerTime.IsZero() {
			rp.ServerTime = plan.ServerTime.UTC().Format(time.RFC3339Nano)
		}
		if plan.Err != nil {
			rp.Error = plan.Err.Error()
			pl.Repositories = append(pl.Repositories, rp)
			continue
		}
		ev := r.Evidence[plan.Repo]
		for _, fo := range plan.Deletions() {
			ms := ev[fo.Path]
			if len(ms) == 0 {
				r.log.Error("no manifest evidence for a folder to delete; left out of the plan", "repo", plan.Repo, "folder", fo.Path)
				continue
			}
			f := planfile.Folder{Path: fo.Path, Image: fo.Image, Digest: string(fo.Digest), MediaType: fo.MediaType,
				Manifests: slices.Clone(ms), AgeSeconds: int64(fo.Age / time.Second), Reason: planfile.ReasonDangling}
			if plan.BytesKnown {
				b := fo.Bytes
				f.Bytes = &b
			}
			rp.Folders = append(rp.Folders, f)
		}
		pl.Repositories = append(pl.Repositories, rp)
	}
	return pl
}

// TagPlanFile turns a dry run of a tag deletion (Options.Tags, with Options.Evidence) into a plan file: the digest
// folders as [Result.PlanFile] holds them, and the tag folders with the manifests they hold. args are the
// REPO/IMAGE:TAG arguments the tags were parsed from ([prune.ParseTagRef]): applying the plan asks for them again.
// A tag without evidence is logged, and its image left out of the plan.
func (r *Result) TagPlanFile(version string, args []string) *planfile.Plan {
	pl := r.PlanFile(version)
	pl.DeleteTags = slices.Clone(args)
	byRepo := map[string]*prune.RepoPlan{}
	for _, plan := range r.Plans {
		byRepo[plan.Repo] = plan
	}
	for i := range pl.Repositories {
		rp := &pl.Repositories[i]
		for j := range rp.Folders {
			rp.Folders[j].Reason = planfile.ReasonOnlyNamedTags
		}
		plan := byRepo[rp.Repo]
		if plan == nil || rp.Error != "" {
			continue
		}
		ev := r.Evidence[rp.Repo]
		for _, td := range plan.TagDeletions {
			ms := ev[td.Path]
			if len(ms) == 0 {
				r.log.Error("no manifest evidence for a tag to delete; its image is left out of the plan", "repo", rp.Repo, "tag", td.Path)
				rp.Folders = slices.DeleteFunc(rp.Folders, func(f planfile.Folder) bool { return f.Image == td.Image })
				continue
			}
			rp.Tags = append(rp.Tags, planfile.Tag{Path: td.Path, Manifests: slices.Clone(ms)})
		}
	}
	return pl
}
