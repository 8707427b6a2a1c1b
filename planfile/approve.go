package planfile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// Approve restricts plan (freshly judged, and re-checked) to what approved allows: it withdraws every deletion
// that approved does not hold for plan.Repo, or whose evidence differs from the approved entry (image, digest,
// manifest files and their checksums, media type, an age of at least the approved grace period), and lists in
// plan.NotApplied every approved entry that will not be deleted, with why, sorted by path. evidence maps each
// folder of plan to its manifest files as listed now.
//
// It costs time linear in the sizes of the plan and of the approved entries (plus sorting those): one pass over
// the plan to withdraw, one more to find the decisions about the approved entries.
func Approve(plan *prune.RepoPlan, approved *Plan, evidence map[string][]Manifest) {
	entries := approved.Index(plan.Repo)
	minAge := approved.MinAge()
	if len(approved.DeleteTags) > 0 {
		minAge = 0 // a plan of artprune delete: the grace period does not protect what only the named tags reach
	}
	plan.WithdrawEach(func(fo prune.Folder) (prune.Reason, error) {
		a, ok := entries[fo.Path]
		if !ok {
			return prune.ReasonNotApproved, errors.New("dangling now, but not in the approved plan")
		}
		if why := mismatch(a, fo, evidence[fo.Path], minAge); why != "" {
			return prune.ReasonNotApproved, fmt.Errorf("changed since the plan was approved: %s", why)
		}
		return "", nil
	})
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	folders := make(map[string]prune.Folder, len(entries)) // the decisions about the approved entries, as they stand
	for i := range plan.Images {
		for _, fo := range plan.Images[i].Folders {
			if _, ok := entries[fo.Path]; ok {
				folders[fo.Path] = fo
			}
		}
	}
	plan.NotApplied = []prune.NotAppliedReport{}
	for _, p := range paths {
		why := ""
		fo, found := folders[p]
		switch {
		case plan.Err != nil:
			why = "the repository failed, nothing is deleted in it: " + firstLine(plan.Err.Error())
		case !found:
			why = "no longer present (deleted since the plan, or its image is excluded)"
		case fo.Delete:
			continue
		case fo.Reason == prune.ReasonNotApproved && fo.Err != nil:
			why = fo.Err.Error()
		default:
			why = "kept now: " + string(fo.Reason)
			if fo.Err != nil {
				why += ": " + firstLine(fo.Err.Error())
			}
		}
		plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: p, Why: why})
	}
}

// mismatch says how a folder judged now differs from its approved entry, or "" if it does not.
func mismatch(a Folder, fo prune.Folder, manifests []Manifest, minAge time.Duration) string {
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

func manifestList(ms []Manifest) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Name+"@sha256:"+m.SHA256)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ApproveTags restricts the tag deletions of plan (freshly judged with approved.TagPatterns, and re-checked) to
// what a plan of artprune delete approved: it withdraws the tag deletions of every image one of whose approved tags
// differs from its approved evidence (and with them the image's digest deletions), and lists the approved tags that
// will not be deleted in plan.NotApplied. evidence maps each tag folder of plan to its manifest files as listed now.
// Call it after [Approve].
func ApproveTags(plan *prune.RepoPlan, approved *Plan, evidence map[string][]Manifest) {
	var tags []Tag
	for _, r := range approved.Repositories {
		if r.Repo == plan.Repo {
			tags = r.Tags
		}
	}
	planned := map[string]bool{}
	for _, td := range plan.TagDeletions {
		planned[td.Path] = true
	}
	for _, tg := range tags {
		i := strings.LastIndexByte(tg.Path, '/')
		image := tg.Path[:i]
		switch {
		case plan.Err != nil:
			plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: tg.Path, Why: "the repository failed, nothing is deleted in it"})
		case !planned[tg.Path]:
			plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: tg.Path, Why: "no longer present, or its image could not be judged"})
		case !slices.Equal(evidence[tg.Path], tg.Manifests):
			why := fmt.Sprintf("changed since the plan was approved: its manifest files are %s, approved %s", manifestList(evidence[tg.Path]), manifestList(tg.Manifests))
			plan.WithdrawTags(image, prune.ReasonNotApproved, fmt.Errorf("tag %s %s", tg.Path, why))
			plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: tg.Path, Why: why})
		}
	}
}

// TagPatterns returns the exact tags a plan of artprune delete deletes, per repository that did not fail (an empty
// list for a repository whose plan names no tag); nil for a prune plan. Apply judges again with those, not with
// the plan's globs, so that a tag pushed since that a glob matches is a root again.
func (p *Plan) TagPatterns() map[string][]prune.TagPattern {
	if len(p.DeleteTags) == 0 {
		return nil
	}
	out := map[string][]prune.TagPattern{}
	for _, r := range p.Repositories {
		if r.Error != "" {
			continue
		}
		out[r.Repo] = []prune.TagPattern{}
		for _, tg := range r.Tags {
			i := strings.LastIndexByte(tg.Path, '/')
			out[r.Repo] = append(out[r.Repo], prune.TagPattern{Image: tg.Path[:i], Tag: tg.Path[i+1:]})
		}
	}
	return out
}
