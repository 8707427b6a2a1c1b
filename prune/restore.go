package prune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Restorer is the port to Artifactory's Trash Can that restoring needs.
type Restorer interface {
	// Exists reports whether repo/path exists.
	Exists(ctx context.Context, repo, path string) (bool, error)
	// InTrash reports whether the Trash Can holds repo/path.
	InTrash(ctx context.Context, repo, path string) (bool, error)
	// Restore moves repo/path back from the Trash Can, with its files and properties as they were before the
	// delete. It must not be called for a path that exists.
	Restore(ctx context.Context, repo, path string) error
}

// ErrRestoredIncompletely is wrapped by a [Restorer]'s Restore when the folder came back but not exactly as it was
// (its properties could not be set back).
var ErrRestoredIncompletely = errors.New("restored, but not exactly as it was")

// RestoreOutcome is what happened to one folder to restore.
type RestoreOutcome string

// Outcomes of a restore.
const (
	// RestoreRestored: the folder is back.
	RestoreRestored RestoreOutcome = "restored"
	// RestoreWouldRestore: a dry run found the folder in the Trash Can and its path free.
	RestoreWouldRestore RestoreOutcome = "would-restore"
	// RestoreExistsAgain: the path exists again (pushed again since); it was not overwritten.
	RestoreExistsAgain RestoreOutcome = "exists-again"
	// RestoreNotInTrash: the Trash Can does not hold the folder (purged, emptied, or the Trash Can was disabled).
	RestoreNotInTrash RestoreOutcome = "not-in-trash"
	// RestoreFailed: looking it up or restoring it failed, or its path is not a digest folder.
	RestoreFailed RestoreOutcome = "failed"
)

// RestoreItem is one folder to bring back, and then what happened to it.
type RestoreItem struct {
	Repo string `json:"repo"`
	Path string `json:"path"`
	// Tag is true for a tag folder that artprune delete deleted (the report's deleted_tags); false for a digest
	// folder.
	Tag     bool           `json:"tag,omitempty"`
	Outcome RestoreOutcome `json:"outcome"`
	Error   string         `json:"error,omitempty"`
}

// RestoreReportSchemaVersion is the version of [RestoreReport]'s JSON schema.
const RestoreReportSchemaVersion = 1

// RestoreReport is the outcome of restoring the folders a run deleted.
type RestoreReport struct {
	SchemaVersion int  `json:"schema_version"`
	DryRun        bool `json:"dry_run"`
	// Folders lists every folder the report said was deleted, sorted by repository and path.
	Folders []RestoreItem `json:"folders"`
	// Counts by outcome.
	Counts map[RestoreOutcome]int `json:"counts"`
}

// OK reports whether everything came back (or, in a dry run, would).
func (r *RestoreReport) OK() bool {
	for _, f := range r.Folders {
		if f.Outcome != RestoreRestored && f.Outcome != RestoreWouldRestore {
			return false
		}
	}
	return true
}

// DeletedReport is what restoring needs of a run's JSON report: the server the run deleted in, and what it
// deleted.
type DeletedReport struct {
	// URL is the base URL of the Artifactory the run used (the report's "url"); empty in a report written before
	// artprune recorded it.
	URL string
	// Folders are the folders the report lists as deleted (outcome "deleted"): the digest folders, sorted, then
	// the tag folders of artprune delete, sorted.
	Folders []RestoreItem
}

// ErrReportServer is wrapped by [DeletedReport.CheckURL]'s errors: the report is not known to be of a run against
// the Artifactory restoring would go to.
var ErrReportServer = errors.New("the report is not of a run against this Artifactory")

// CheckURL refuses to restore r through an Artifactory other than the one the run deleted in, whose base URL is
// baseURL: the Trash Can of another server (staging for production, say) may hold other folders at the same
// paths, and restoring them would bring back what no run of this report deleted. A report that names no URL
// (written before artprune recorded it) is refused too, unless noURLOK says the caller checked which server it is
// of.
func (r *DeletedReport) CheckURL(baseURL string, noURLOK bool) error {
	switch {
	case r.URL == "" && noURLOK:
		return nil
	case r.URL == "":
		return fmt.Errorf("the report names no Artifactory URL (it was written by an older artprune, or edited), so "+
			"it is not known to be of a run against %s; check that it is, then restore with --report-without-url: %w", baseURL, ErrReportServer)
	case r.URL != baseURL:
		return fmt.Errorf("the report is of a run against %s, not %s: restore it through the same Artifactory "+
			"(this one's Trash Can may hold other folders at those paths): %w", r.URL, baseURL, ErrReportServer)
	}
	return nil
}

// ReadDeletedReport reads a JSON report of artprune prune, apply or delete. A dry-run report, a report of
// another kind or an unknown schema version is an error. Check the report's server with
// [DeletedReport.CheckURL] before restoring.
func ReadDeletedReport(r io.Reader) (*DeletedReport, error) {
	var rep struct {
		SchemaVersion *int   `json:"schema_version"`
		DryRun        bool   `json:"dry_run"`
		URL           string `json:"url"`
		Repositories  *[]struct {
			Repo      string `json:"repo"`
			Deletions []struct {
				Path    string `json:"path"`
				Outcome string `json:"outcome"`
			} `json:"deletions"`
			DeletedTags []struct {
				Path    string `json:"path"`
				Outcome string `json:"outcome"`
			} `json:"deleted_tags"`
		} `json:"repositories"`
	}
	dec := json.NewDecoder(io.LimitReader(r, 4<<30))
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("not an artprune JSON report: %w", err)
	}
	switch {
	case rep.SchemaVersion == nil || rep.Repositories == nil:
		return nil, errors.New("not an artprune JSON report: no schema_version or repositories (write one with --report)")
	case *rep.SchemaVersion < 1 || *rep.SchemaVersion > ReportSchemaVersion:
		return nil, fmt.Errorf("report schema_version %d: this artprune reads 1 to %d", *rep.SchemaVersion, ReportSchemaVersion)
	case rep.DryRun:
		return nil, errors.New("the report is of a dry run: it deleted nothing, so there is nothing to restore")
	}
	var out []RestoreItem
	for _, repo := range *rep.Repositories {
		for _, d := range repo.Deletions {
			if Outcome(d.Outcome) == OutcomeDeleted {
				out = append(out, RestoreItem{Repo: repo.Repo, Path: d.Path})
			}
		}
		for _, d := range repo.DeletedTags {
			if Outcome(d.Outcome) == OutcomeDeleted {
				out = append(out, RestoreItem{Repo: repo.Repo, Path: d.Path, Tag: true})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { // digest folders before tags: a tag comes back after what it references
		if out[i].Tag != out[j].Tag {
			return !out[i].Tag
		}
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Path < out[j].Path
	})
	return &DeletedReport{URL: rep.URL, Folders: out}, nil
}

// DeletedFolders is [ReadDeletedReport]'s Folders. It does not say which server the report is of: restore through
// ReadDeletedReport and [DeletedReport.CheckURL].
func DeletedFolders(r io.Reader) ([]RestoreItem, error) {
	rep, err := ReadDeletedReport(r)
	if err != nil {
		return nil, err
	}
	return rep.Folders, nil
}

// RestoreFolders brings each folder back from the Trash Can to where it was, concurrency at a time. A folder whose
// path exists again is never overwritten, and one the Trash Can does not hold is reported; with dryRun nothing is
// restored. Every path is first checked with [ValidateFolderPath], or [ValidateTagFolderPath] for a tag: a report
// is input, and only the folders artprune deletes are restored. Digest folders come back before tags. A restore that fails is looked up again, since a lost answer may hide one that worked.
func RestoreFolders(ctx context.Context, r Restorer, items []RestoreItem, dryRun bool, concurrency int) *RestoreReport {
	rep := &RestoreReport{SchemaVersion: RestoreReportSchemaVersion, DryRun: dryRun, Folders: make([]RestoreItem, len(items)),
		Counts: map[RestoreOutcome]int{}}
	copy(rep.Folders, items)
	concurrency = max(concurrency, 1)
	// Digest folders first, then tags, so that no restored tag points at a folder not yet back.
	for _, tags := range []bool{false, true} {
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for i := range rep.Folders {
			it := &rep.Folders[i]
			if it.Tag != tags {
				continue
			}
			if ctx.Err() != nil {
				it.Outcome, it.Error = RestoreFailed, "not attempted: "+ctx.Err().Error()
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				it.Outcome, it.Error = restoreOne(ctx, r, *it, dryRun)
			}()
		}
		wg.Wait()
	}
	for _, f := range rep.Folders {
		rep.Counts[f.Outcome]++
	}
	return rep
}

func restoreOne(ctx context.Context, r Restorer, it RestoreItem, dryRun bool) (RestoreOutcome, string) {
	repo, path := it.Repo, it.Path
	if it.Tag {
		if err := ValidateTagFolderPath(repo, path); err != nil {
			return RestoreFailed, "not a tag folder artprune delete deletes: " + err.Error()
		}
	} else if err := ValidateFolderPath(repo, path); err != nil {
		return RestoreFailed, "not a digest folder artprune deletes: " + err.Error()
	}
	exists, err := r.Exists(ctx, repo, path)
	if err != nil {
		return RestoreFailed, "looking up the path failed: " + err.Error()
	}
	if exists {
		return RestoreExistsAgain, "the path exists again (pushed since the run); it is not overwritten: compare it with the Trash Can's copy by hand"
	}
	in, err := r.InTrash(ctx, repo, path)
	if err != nil {
		return RestoreFailed, "looking it up in the Trash Can failed: " + err.Error()
	}
	if !in {
		return RestoreNotInTrash, "the Trash Can does not hold it: it was purged or emptied, or the Trash Can was disabled when it was deleted"
	}
	if dryRun {
		return RestoreWouldRestore, ""
	}
	err = r.Restore(ctx, repo, path)
	if err == nil {
		return RestoreRestored, ""
	}
	if errors.Is(err, ErrRestoredIncompletely) {
		return RestoreFailed, err.Error()
	}
	// The answer may have been lost after Artifactory acted.
	back, e1 := r.Exists(ctx, repo, path)
	still, e2 := r.InTrash(ctx, repo, path)
	if e1 == nil && e2 == nil && back && !still {
		return RestoreRestored, ""
	}
	return RestoreFailed, "restoring it failed: " + err.Error()
}

// WriteText writes the restore report for people: one line per folder that did not come back, then the counts.
func (r *RestoreReport) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.DryRun {
		b.WriteString("DRY RUN: nothing was restored. Run again without --dry-run to restore.\n")
	}
	for _, f := range r.Folders {
		switch f.Outcome {
		case RestoreRestored, RestoreWouldRestore:
			fmt.Fprintf(&b, "%-14s %s/%s\n", f.Outcome, f.Repo, f.Path)
		default:
			fmt.Fprintf(&b, "%-14s %s/%s: %s\n", f.Outcome, f.Repo, f.Path, f.Error)
		}
	}
	fmt.Fprintf(&b, "\n%d folders: %d restored, %d would be restored, %d exist again, %d not in the Trash Can, %d failed\n",
		len(r.Folders), r.Counts[RestoreRestored], r.Counts[RestoreWouldRestore], r.Counts[RestoreExistsAgain],
		r.Counts[RestoreNotInTrash], r.Counts[RestoreFailed])
	if r.DryRun {
		b.WriteString("DRY RUN: nothing was restored.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
