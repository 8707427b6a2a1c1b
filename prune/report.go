package prune

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ReportSchemaVersion is the version of the [Report] JSON schema. It changes only when a field changes meaning or
// disappears; fields may be added.
const ReportSchemaVersion = 2

// OutcomeWouldDelete is the outcome of every planned deletion in a dry-run report.
const OutcomeWouldDelete Outcome = "would-delete"

// ReportNote says when deleted space returns; every report carries it.
const ReportNote = "Deleted folders go to the Trash Can; their space returns only after the Trash Can is emptied " +
	"and binary garbage collection runs. The freed estimate counts checksums held only by deleted folders of the " +
	"same repository; other repositories may hold the same binaries."

// Report is the outcome of a run, for JSON (encoding/json) or [Report.WriteText]. Its JSON schema is stable
// (see [ReportSchemaVersion]): snake_case keys, lists never null, byte figures null when unknown, times in UTC
// RFC 3339 from the server's clock.
type Report struct {
	SchemaVersion int  `json:"schema_version"`
	DryRun        bool `json:"dry_run"`
	// URL is the base URL of the Artifactory the run judged and deleted in (see [WithURL]; added in schema version
	// 2, absent in reports written before): artprune restore refuses a report of another server.
	URL string `json:"url,omitempty"`
	// Note says when deleted space returns.
	Note         string       `json:"note"`
	Totals       Summary      `json:"totals"`
	Repositories []RepoReport `json:"repositories"`
	// SkippedRepositories lists the repositories that a --repo glob or --all-repos matched but that are not
	// pruned (remote, virtual, federated, not Docker), with why.
	SkippedRepositories []SkippedRepository `json:"skipped_repositories"`
	// Server names the Artifactory edition and version the run found (see [ServerReport]); absent when unknown.
	Server *ServerReport `json:"server,omitempty"`

	trash  *TrashCan               // given by WithTrashCan, copied to every repository
	heals  map[string]*HealResult  // given by WithHeal, by repository
	purges map[string]*PurgeResult // given by WithPurge, by repository
}

// ReportOption adds to a report what the plans do not hold.
type ReportOption func(*Report)

// WithURL names the Artifactory the run used, by its base URL (artifactory.Client.BaseURL), in the report's "url".
func WithURL(baseURL string) ReportOption {
	return func(r *Report) { r.URL = baseURL }
}

// WithSkippedRepositories lists the repositories a pattern matched but that were not pruned.
func WithSkippedRepositories(skipped []SkippedRepository) ReportOption {
	return func(r *Report) { r.SkippedRepositories = append(r.SkippedRepositories, skipped...) }
}

// Trash Can states (see [TrashCan]).
const (
	// TrashEnabled: deleted folders go to the Trash Can; artprune restore brings them back until it purges them.
	TrashEnabled = "enabled"
	// TrashDisabled: deletions are permanent.
	TrashDisabled = "disabled"
	// TrashUnknown: the Trash Can's configuration could not be read (it needs an admin, and Artifactory SaaS does not
	// serve it) and no deleted folder was found in the Trash Can.
	TrashUnknown = "unknown"
)

// TrashCan says where a repository's deletions go: to Artifactory's Trash Can, where they can be undone, or
// nowhere.
type TrashCan struct {
	// State is TrashEnabled, TrashDisabled or TrashUnknown.
	State string `json:"state"`
	// RetentionDays is how long the Trash Can keeps a deleted folder; null unless State is TrashEnabled, and null
	// then too when the state was observed (a deleted folder found in the Trash Can) rather than read.
	RetentionDays *int `json:"retention_days"`
}

// Undoable reports whether deletions can be undone.
func (t *TrashCan) Undoable() bool { return t != nil && t.State == TrashEnabled }

// WithTrashCan records, for every repository, where its deletions go (added in schema version 2).
func WithTrashCan(t TrashCan) ReportOption {
	return func(r *Report) { r.trash = &t }
}

// SkippedRepository is a repository matched by a pattern but not pruned.
type SkippedRepository struct {
	Repo   string `json:"repo"`
	Reason string `json:"reason"`
}

// Summary holds the counts of one repository, or of all of them in Report.Totals.
type Summary struct {
	Repositories       int `json:"repositories"`
	FailedRepositories int `json:"failed_repositories"`
	Images             int `json:"images"`
	// FailedImages counts the images skipped because they could not be evaluated.
	FailedImages int `json:"failed_images"`
	// ChangedImages counts the images whose deletions [Recheck] withdrew.
	ChangedImages int `json:"changed_images"`
	Tags          int `json:"tags"`
	// Indexes and Manifests count list.manifest.json and manifest.json files, in tag and digest folders.
	Indexes       int        `json:"indexes"`
	Manifests     int        `json:"manifests"`
	DigestFolders int        `json:"digest_folders"`
	Kept          KeptCounts `json:"kept"`
	// Deletions counts the planned deletions (after [Recheck]).
	Deletions         int `json:"deletions"`
	MissingReferences int `json:"missing_references"`
	MalformedFiles    int `json:"malformed_files"`
	IgnoredFiles      int `json:"ignored_files"`
	// ExcludedImages counts the images left out by --include-image and --exclude-image: neither read nor judged.
	ExcludedImages int `json:"excluded_images"`
	// NotApplied counts the entries of an approved plan (artprune apply) that were not deleted.
	NotApplied int `json:"not_applied"`
	// TagDeletions counts the tag folders to delete (artprune delete); TagOutcomes counts their outcomes.
	TagDeletions int           `json:"tag_deletions"`
	TagOutcomes  OutcomeCounts `json:"tag_outcomes"`
	// Bytes is the size of the files in the planned deletions; null when unknown.
	Bytes *int64 `json:"bytes"`
	// FreedBytesEstimate is the storage freed once the Trash Can is emptied and garbage collection runs; null when
	// unknown.
	FreedBytesEstimate *int64        `json:"freed_bytes_estimate"`
	Outcomes           OutcomeCounts `json:"outcomes"`
	// HealFailures counts the deleted folders the final check found live again but could not restore, plus one
	// per repository whose final check could not be completed (schema version 2). A failure.
	HealFailures int `json:"heal_failures"`
	// PurgeFailures counts the repositories whose --purge-trash-after failed, wholly or in part (schema version 2).
	PurgeFailures int `json:"purge_failures"`
}

// KeptCounts counts kept digest folders by [Reason].
type KeptCounts struct {
	Total            int `json:"total"`
	ImageSkipped     int `json:"image_skipped"`
	TagDigest        int `json:"tag_digest"`
	Tagged           int `json:"tagged"`
	Referrer         int `json:"referrer"`
	Protected        int `json:"protected"`
	Pulled           int `json:"pulled"`
	Young            int `json:"young"`
	ChangedDuringRun int `json:"changed_during_run"`
	NotApproved      int `json:"not_approved"`
}

// OutcomeCounts counts planned deletions by [Outcome].
type OutcomeCounts struct {
	WouldDelete  int `json:"would_delete"`
	Deleted      int `json:"deleted"`
	AlreadyGone  int `json:"already_gone"`
	Forbidden    int `json:"forbidden"`
	Failed       int `json:"failed"`
	NotAttempted int `json:"not_attempted"`
	// Restored counts deletions undone by the final check (schema version 2).
	Restored int `json:"restored"`
}

// RepoReport is the report of one repository.
type RepoReport struct {
	Repo string `json:"repo"`
	// ServerTime is the server's time when planning started; empty if it could not be read.
	ServerTime    string `json:"server_time"`
	MinAgeSeconds int64  `json:"min_age_seconds"`
	// Error says why the repository failed (nothing deleted in it).
	Error string `json:"error,omitempty"`
	// ApplyError says why some deletions were not attempted.
	ApplyError string `json:"apply_error,omitempty"`
	// BytesError says why the byte figures are unknown.
	BytesError string  `json:"bytes_error,omitempty"`
	Summary    Summary `json:"summary"`
	// Images lists every image, sorted.
	Images []ImageReport `json:"images"`
	// Deletions lists the planned deletions with their outcomes.
	Deletions []DeletionReport `json:"deletions"`
	// Kept lists the kept digest folders with their reasons.
	Kept []KeptReport `json:"kept"`
	// MalformedFiles lists manifest files outside any image ("<folder>/<name>").
	MalformedFiles []string `json:"malformed_files"`
	// ExcludedImages lists the images left out by --include-image and --exclude-image, sorted.
	ExcludedImages []string `json:"excluded_images"`
	// NotApplied lists the entries of an approved plan (artprune apply) that were not deleted, with why.
	NotApplied []NotAppliedReport `json:"not_applied"`
	// DeletedTags lists the tag folders artprune delete deletes (or would), with their outcomes; empty otherwise.
	DeletedTags []TagDeletionReport `json:"deleted_tags"`
	// TrashCan says whether this repository's deletions went (or would go) to the Trash Can and so can be undone,
	// or were permanent; absent when not known to the report's writer. Added in schema version 2.
	TrashCan *TrashCan `json:"trash_can,omitempty"`
	// Healed lists the deleted folders that the final check after the deletes found referenced by a manifest
	// pushed meanwhile, with why and what was done (schema version 2).
	Healed []HealReport `json:"healed"`
	// HealError says why the final check could not be completed.
	HealError string `json:"heal_error,omitempty"`
	// TrashPurge is what --purge-trash-after did in the Trash Can; absent without it (schema version 2).
	TrashPurge *PurgeReport `json:"trash_purge,omitempty"`
}

// PurgeReport is what [PurgeTrash] did for one repository.
type PurgeReport struct {
	AfterSeconds int64 `json:"after_seconds"`
	// Folders lists the folders purged (or to be purged), with their outcomes.
	Folders        []PurgedReport `json:"folders"`
	KeptYoung      int            `json:"kept_young"`
	KeptReferenced int            `json:"kept_referenced"`
	// KeptNotArtprunes counts the marked folders whose mark is not bound to their current copy (someone else's
	// deletion of a folder that carried the mark, or an older artprune's mark): never purged.
	KeptNotArtprunes int `json:"kept_not_artprunes"`
	// SkippedImages lists the images in which nothing was purged because a Trash Can copy of theirs could not be
	// read or parsed (what it references is unknown), with why. A failure.
	SkippedImages []PurgeSkippedReport `json:"skipped_images"`
	// FreedBytes is what garbage collection can now free: binaries no other path holds, anywhere.
	FreedBytes int64  `json:"freed_bytes"`
	Error      string `json:"error,omitempty"`
}

// PurgeSkippedReport is an image in which the purge purged nothing, failing closed.
type PurgeSkippedReport struct {
	Image string `json:"image"`
	// Folders counts the folders old enough that were left in the Trash Can.
	Folders int    `json:"folders"`
	Error   string `json:"error"`
}

// PurgedReport is one folder purged from the Trash Can.
type PurgedReport struct {
	Path      string `json:"path"`
	TrashedAt string `json:"trashed_at"`
	Outcome   string `json:"outcome"`
	Error     string `json:"error,omitempty"`
}

// WithPurge adds the results of [PurgeTrash], matched by repository.
func WithPurge(results []*PurgeResult) ReportOption {
	return func(r *Report) {
		if r.purges == nil {
			r.purges = map[string]*PurgeResult{}
		}
		for _, p := range results {
			if p != nil {
				r.purges[p.Repo] = p
			}
		}
	}
}

func (rr *RepoReport) setPurge(p *PurgeResult) {
	if p == nil {
		return
	}
	pr := &PurgeReport{AfterSeconds: int64(p.After / time.Second), Folders: []PurgedReport{}, KeptYoung: p.KeptYoung,
		KeptReferenced: p.KeptReferenced, KeptNotArtprunes: p.KeptNotOurs, FreedBytes: p.FreedBytes,
		SkippedImages: []PurgeSkippedReport{}}
	for _, sk := range p.Skipped {
		pr.SkippedImages = append(pr.SkippedImages, PurgeSkippedReport{Image: sk.Image, Folders: sk.Folders, Error: sk.Err.Error()})
	}
	for _, f := range p.Folders {
		e := PurgedReport{Path: f.Path, Outcome: string(f.Outcome)}
		if !f.TrashedAt.IsZero() {
			e.TrashedAt = f.TrashedAt.UTC().Format(time.RFC3339Nano)
		}
		if f.Err != nil {
			e.Error = f.Err.Error()
		}
		pr.Folders = append(pr.Folders, e)
	}
	if p.Err != nil {
		pr.Error = p.Err.Error()
	}
	if p.Failed() {
		rr.Summary.PurgeFailures++
	}
	rr.TrashPurge = pr
}

// HealReport is one deleted folder found live again after the deletes.
type HealReport struct {
	Path string `json:"path"`
	Why  string `json:"why"`
	// Outcome is restored, pushed-again or failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// WithHeal adds the results of [Heal], matched by repository.
func WithHeal(results []*HealResult) ReportOption {
	return func(r *Report) {
		if r.heals == nil {
			r.heals = map[string]*HealResult{}
		}
		for _, h := range results {
			if h != nil {
				r.heals[h.Repo] = h
			}
		}
	}
}

// healReport turns a HealResult into the report's fields of its repository.
func (rr *RepoReport) setHeal(h *HealResult) {
	if h == nil {
		return
	}
	for _, f := range h.Folders {
		hr := HealReport{Path: f.Path, Why: f.Why, Outcome: string(f.Outcome)}
		if f.Err != nil {
			hr.Error = f.Err.Error()
		}
		if f.Outcome == HealFailed {
			rr.Summary.HealFailures++
		}
		rr.Healed = append(rr.Healed, hr)
	}
	if h.Err != nil {
		rr.HealError = h.Err.Error()
		rr.Summary.HealFailures++
	}
}

// NotAppliedReport is an entry of an approved plan that artprune apply did not delete.
type NotAppliedReport struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// ImageReport is the report of one image.
type ImageReport struct {
	Image         string   `json:"image"`
	Tags          []string `json:"tags"`
	Indexes       int      `json:"indexes"`
	Manifests     int      `json:"manifests"`
	DigestFolders int      `json:"digest_folders"`
	Deletions     int      `json:"deletions"`
	// Error says why the image was skipped.
	Error string `json:"error,omitempty"`
	// ChangedFiles lists the manifest files found new or changed by [Recheck].
	ChangedFiles      []string `json:"changed_files"`
	MissingReferences []string `json:"missing_references"`
}

// DeletionReport is one planned deletion.
type DeletionReport struct {
	Image      string `json:"image"`
	Path       string `json:"path"`
	Digest     string `json:"digest"`
	MediaType  string `json:"media_type"`
	AgeSeconds int64  `json:"age_seconds"`
	Age        string `json:"age"`
	// Bytes is the size of the files in the folder; null when unknown.
	Bytes   *int64 `json:"bytes"`
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// TagDeletionReport is one tag folder of artprune delete.
type TagDeletionReport struct {
	Image   string `json:"image"`
	Tag     string `json:"tag"`
	Path    string `json:"path"`
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// KeptReport is one kept digest folder.
type KeptReport struct {
	Image      string `json:"image"`
	Path       string `json:"path"`
	Digest     string `json:"digest"`
	Reason     string `json:"reason"`
	AgeSeconds int64  `json:"age_seconds"`
	Error      string `json:"error,omitempty"`
}

// NewReport builds the report of a run from its plans, in their order, and the results of [Apply] (matched by
// repository; nil when dryRun). Without a result, a planned deletion is [OutcomeWouldDelete] in a dry run and
// [OutcomeNotAttempted] otherwise. [WriteReportJSON] and [WriteReportText] write the same report without holding
// it, for runs with very many folders.
func NewReport(dryRun bool, plans []*RepoPlan, results []*ApplyResult, opts ...ReportOption) *Report {
	r, reporters := newReportHead(dryRun, plans, results, opts...)
	for i, rep := range reporters {
		r.Repositories[i] = rep.full()
	}
	return r
}

// NewReportHead returns the report without its long lists (images, deletions and kept folders of each
// repository): the totals and each repository's summary, for metrics and summaries.
func NewReportHead(dryRun bool, plans []*RepoPlan, results []*ApplyResult, opts ...ReportOption) *Report {
	r, _ := newReportHead(dryRun, plans, results, opts...)
	return r
}

// newReportHead returns the report with every repository's head (see repoReporter.head), and the reporters that
// give the rest.
func newReportHead(dryRun bool, plans []*RepoPlan, results []*ApplyResult, opts ...ReportOption) (*Report, []*repoReporter) {
	r := &Report{SchemaVersion: ReportSchemaVersion, DryRun: dryRun, Note: ReportNote, Repositories: []RepoReport{},
		SkippedRepositories: []SkippedRepository{}}
	for _, o := range opts {
		o(r)
	}
	byRepo := make(map[string]*ApplyResult)
	for _, res := range results {
		if res != nil {
			byRepo[res.Repo] = res
		}
	}
	totalBytes, totalFreed := int64(0), int64(0)
	bytesKnown := true
	var reporters []*repoReporter
	for _, plan := range plans {
		rep := newRepoReporter(dryRun, plan, byRepo[plan.Repo])
		rep.head.TrashCan = r.trash
		rep.head.setHeal(r.heals[plan.Repo])
		rep.head.setPurge(r.purges[plan.Repo])
		reporters = append(reporters, rep)
		r.Repositories = append(r.Repositories, rep.head)
		r.Totals.add(rep.head.Summary)
		if rep.head.Summary.Bytes == nil {
			bytesKnown = false
		} else {
			totalBytes += *rep.head.Summary.Bytes
			totalFreed += *rep.head.Summary.FreedBytesEstimate
		}
	}
	if bytesKnown {
		r.Totals.Bytes, r.Totals.FreedBytesEstimate = &totalBytes, &totalFreed
	}
	return r, reporters
}

// repoReporter builds the report of one repository piece by piece.
type repoReporter struct {
	dryRun   bool
	plan     *RepoPlan
	outcomes map[string]Deletion
	// head is the repository's report with its summary complete but its images, deletions and kept folders
	// empty: they come from eachImage, eachDeletion and eachKept.
	head RepoReport
}

func newRepoReporter(dryRun bool, plan *RepoPlan, res *ApplyResult) *repoReporter {
	rep := &repoReporter{dryRun: dryRun, plan: plan, outcomes: map[string]Deletion{}}
	rr := &rep.head
	*rr = RepoReport{
		Repo:           plan.Repo,
		MinAgeSeconds:  int64(plan.MinAge / time.Second),
		Images:         []ImageReport{},
		Deletions:      []DeletionReport{},
		Kept:           []KeptReport{},
		MalformedFiles: append([]string{}, plan.Malformed...),
		ExcludedImages: []string{},
		NotApplied:     []NotAppliedReport{},
		DeletedTags:    []TagDeletionReport{},
		Healed:         []HealReport{},
	}
	if !plan.ServerTime.IsZero() {
		rr.ServerTime = plan.ServerTime.UTC().Format(time.RFC3339Nano)
	}
	s := &rr.Summary
	s.Repositories = 1
	if plan.Err != nil {
		rr.Error = plan.Err.Error()
		s.FailedRepositories = 1
	}
	if res != nil {
		for _, d := range res.Deletions {
			rep.outcomes[d.Path] = d
		}
		if res.Err != nil {
			rr.ApplyError = res.Err.Error()
		}
	}
	s.MalformedFiles = len(plan.Malformed)
	s.IgnoredFiles = plan.Ignored
	rr.ExcludedImages = append(rr.ExcludedImages, plan.ExcludedImages...)
	s.ExcludedImages = len(plan.ExcludedImages)
	rr.NotApplied = append(rr.NotApplied, plan.NotApplied...)
	s.NotApplied = len(plan.NotApplied)
	for _, td := range plan.TagDeletions {
		out := td.Outcome
		switch {
		case out != "":
		case dryRun:
			out = OutcomeWouldDelete
		default:
			out = OutcomeNotAttempted
		}
		tr := TagDeletionReport{Image: td.Image, Tag: td.Tag, Path: td.Path, Outcome: string(out)}
		if td.Err != nil {
			tr.Error = td.Err.Error()
		}
		rr.DeletedTags = append(rr.DeletedTags, tr)
		s.TagDeletions++
		s.TagOutcomes.add(out)
	}

	for i := range plan.Images {
		img := &plan.Images[i]
		if img.Err != nil {
			s.FailedImages++
		}
		if len(img.Changed) > 0 {
			s.ChangedImages++
		}
		s.Images++
		s.Tags += len(img.Tags)
		s.Indexes += img.Indexes
		s.Manifests += img.Manifests
		s.DigestFolders += len(img.Folders)
		s.MissingReferences += len(img.MissingRefs)
		for j := range img.Folders {
			fo := &img.Folders[j]
			if !fo.Delete {
				s.Kept.add(fo.Reason)
				continue
			}
			s.Deletions++
			s.Outcomes.add(Outcome(rep.outcome(fo)))
		}
	}
	if plan.BytesKnown {
		b, f := plan.Bytes, plan.FreedBytes
		s.Bytes, s.FreedBytesEstimate = &b, &f
	} else if plan.BytesErr != nil {
		rr.BytesError = plan.BytesErr.Error()
	}
	return rep
}

// outcome returns the outcome of the planned deletion of fo, and its error if any.
func (rep *repoReporter) outcome(fo *Folder) string {
	switch d, ok := rep.outcomes[fo.Path]; {
	case ok:
		return string(d.Outcome)
	case rep.dryRun:
		return string(OutcomeWouldDelete)
	}
	return string(OutcomeNotAttempted)
}

// eachImage calls fn with the report of every image, in order, until fn returns an error.
func (rep *repoReporter) eachImage(fn func(ImageReport) error) error {
	for i := range rep.plan.Images {
		img := &rep.plan.Images[i]
		ir := ImageReport{
			Image:             img.Name,
			Tags:              append([]string{}, img.Tags...),
			Indexes:           img.Indexes,
			Manifests:         img.Manifests,
			DigestFolders:     len(img.Folders),
			ChangedFiles:      append([]string{}, img.Changed...),
			MissingReferences: make([]string, 0, len(img.MissingRefs)),
		}
		for _, d := range img.MissingRefs {
			ir.MissingReferences = append(ir.MissingReferences, string(d))
		}
		if img.Err != nil {
			ir.Error = img.Err.Error()
		}
		for j := range img.Folders {
			if img.Folders[j].Delete {
				ir.Deletions++
			}
		}
		if err := fn(ir); err != nil {
			return err
		}
	}
	return nil
}

// eachDeletion calls fn with the report of every planned deletion, in order, until fn returns an error.
func (rep *repoReporter) eachDeletion(fn func(DeletionReport) error) error {
	for i := range rep.plan.Images {
		for j := range rep.plan.Images[i].Folders {
			fo := &rep.plan.Images[i].Folders[j]
			if !fo.Delete {
				continue
			}
			dr := DeletionReport{
				Image: fo.Image, Path: fo.Path, Digest: string(fo.Digest), MediaType: fo.MediaType,
				AgeSeconds: seconds(fo.Age), Age: HumanDuration(fo.Age), Outcome: rep.outcome(fo),
			}
			if rep.plan.BytesKnown {
				b := fo.Bytes
				dr.Bytes = &b
			}
			if d, ok := rep.outcomes[fo.Path]; ok && d.Err != nil {
				dr.Error = d.Err.Error()
			}
			if err := fn(dr); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachKept calls fn with the report of every kept digest folder, in order, until fn returns an error.
func (rep *repoReporter) eachKept(fn func(KeptReport) error) error {
	for i := range rep.plan.Images {
		for j := range rep.plan.Images[i].Folders {
			fo := &rep.plan.Images[i].Folders[j]
			if fo.Delete {
				continue
			}
			kr := KeptReport{Image: fo.Image, Path: fo.Path, Digest: string(fo.Digest), Reason: string(fo.Reason), AgeSeconds: seconds(fo.Age)}
			if fo.Err != nil {
				kr.Error = fo.Err.Error()
			}
			if err := fn(kr); err != nil {
				return err
			}
		}
	}
	return nil
}

// full returns the repository's whole report.
func (rep *repoReporter) full() RepoReport {
	rr := rep.head
	_ = rep.eachImage(func(ir ImageReport) error { rr.Images = append(rr.Images, ir); return nil })
	_ = rep.eachDeletion(func(dr DeletionReport) error { rr.Deletions = append(rr.Deletions, dr); return nil })
	_ = rep.eachKept(func(kr KeptReport) error { rr.Kept = append(rr.Kept, kr); return nil })
	return rr
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (k *KeptCounts) add(r Reason) {
	k.Total++
	switch r {
	case ReasonImageSkipped:
		k.ImageSkipped++
	case ReasonTagDigest:
		k.TagDigest++
	case ReasonTagged:
		k.Tagged++
	case ReasonReferrer:
		k.Referrer++
	case ReasonProtected:
		k.Protected++
	case ReasonPulled:
		k.Pulled++
	case ReasonYoung:
		k.Young++
	case ReasonChanged:
		k.ChangedDuringRun++
	case ReasonNotApproved:
		k.NotApproved++
	}
}

// sum adds the counts of p.
func (o *OutcomeCounts) sum(p OutcomeCounts) {
	o.WouldDelete += p.WouldDelete
	o.Deleted += p.Deleted
	o.AlreadyGone += p.AlreadyGone
	o.Forbidden += p.Forbidden
	o.Failed += p.Failed
	o.NotAttempted += p.NotAttempted
}

func (o *OutcomeCounts) add(out Outcome) {
	switch out {
	case OutcomeWouldDelete:
		o.WouldDelete++
	case OutcomeDeleted:
		o.Deleted++
	case OutcomeAlreadyGone:
		o.AlreadyGone++
	case OutcomeForbidden:
		o.Forbidden++
	case OutcomeFailed:
		o.Failed++
	case OutcomeNotAttempted:
		o.NotAttempted++
	case OutcomeRestored:
		o.Restored++
	}
}

// add adds the counts of o to s, leaving the byte figures alone.
func (s *Summary) add(o Summary) {
	s.Repositories += o.Repositories
	s.FailedRepositories += o.FailedRepositories
	s.Images += o.Images
	s.FailedImages += o.FailedImages
	s.ChangedImages += o.ChangedImages
	s.Tags += o.Tags
	s.Indexes += o.Indexes
	s.Manifests += o.Manifests
	s.DigestFolders += o.DigestFolders
	s.Deletions += o.Deletions
	s.MissingReferences += o.MissingReferences
	s.MalformedFiles += o.MalformedFiles
	s.IgnoredFiles += o.IgnoredFiles
	s.ExcludedImages += o.ExcludedImages
	s.NotApplied += o.NotApplied
	s.TagDeletions += o.TagDeletions
	s.TagOutcomes.sum(o.TagOutcomes)
	k, ok := &s.Kept, o.Kept
	k.Total += ok.Total
	k.ImageSkipped += ok.ImageSkipped
	k.TagDigest += ok.TagDigest
	k.Tagged += ok.Tagged
	k.Referrer += ok.Referrer
	k.Protected += ok.Protected
	k.Pulled += ok.Pulled
	k.Young += ok.Young
	k.ChangedDuringRun += ok.ChangedDuringRun
	k.NotApproved += ok.NotApproved
	c, oc := &s.Outcomes, o.Outcomes
	c.WouldDelete += oc.WouldDelete
	c.Deleted += oc.Deleted
	c.AlreadyGone += oc.AlreadyGone
	c.Forbidden += oc.Forbidden
	c.Failed += oc.Failed
	c.NotAttempted += oc.NotAttempted
	c.Restored += oc.Restored
	s.HealFailures += o.HealFailures
	s.PurgeFailures += o.PurgeFailures
}

// dryRunBanner frames a dry-run text report.
const dryRunBanner = "*** DRY RUN: nothing was deleted ***"

// WriteText writes the report for people: compact, one line per deletion, errors in full. A dry run is framed by
// a banner at the top and the bottom.
func (r *Report) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	tw.report(r, func(i int) repoLists {
		rr := &r.Repositories[i]
		return repoLists{
			deletions: func(fn func(DeletionReport) error) error {
				for _, d := range rr.Deletions {
					if err := fn(d); err != nil {
						return err
					}
				}
				return nil
			},
			images: func(fn func(ImageReport) error) error {
				for _, img := range rr.Images {
					if err := fn(img); err != nil {
						return err
					}
				}
				return nil
			},
		}
	})
	return tw.err
}

// repoLists gives the long lists of a repository's report one element at a time.
type repoLists struct {
	deletions func(func(DeletionReport) error) error
	images    func(func(ImageReport) error) error
}

// report writes r, whose repositories' lists come from lists.
func (tw *textWriter) report(r *Report, lists func(i int) repoLists) {
	if r.DryRun {
		tw.printf("%s\n", dryRunBanner)
	}
	if !r.DryRun && r.trash != nil && r.trash.State == TrashDisabled {
		tw.printf("%s\n", trashDisabledBanner)
	}
	if r.Server != nil {
		tw.printf("%s\n", r.Server.serverLine())
	}
	for i, rr := range r.Repositories {
		tw.repo(r.DryRun, rr, lists(i))
	}
	for _, sk := range r.SkippedRepositories {
		tw.printf("skipped repository %s: %s\n", sk.Repo, sk.Reason)
	}
	t := r.Totals
	tw.printf("total: %d repositories (%d failed), %d images (%d skipped, %d changed), %d digest folders, kept %d, %s\n",
		t.Repositories, t.FailedRepositories, t.Images, t.FailedImages, t.ChangedImages, t.DigestFolders, t.Kept.Total,
		deletionSummary(r.DryRun, t))
	tw.printf("note: %s\n", r.Note)
	if !r.DryRun && r.trash != nil && r.trash.State == TrashDisabled {
		tw.printf("%s\n", trashDisabledBanner)
	}
	if r.DryRun {
		tw.printf("%s\n", dryRunBanner)
	}
}

// trashDisabledBanner frames the text report of a run that deleted with the Trash Can disabled.
const trashDisabledBanner = "*** TRASH CAN DISABLED: deletions are permanent and cannot be undone ***"

// trashLine says where a repository's deletions go.
func trashLine(dryRun bool, t *TrashCan) string {
	verb := "go"
	if dryRun {
		verb = "would go"
	}
	switch t.State {
	case TrashEnabled:
		days := "(retention unknown)"
		if t.RetentionDays != nil {
			days = fmt.Sprintf("for %d days", *t.RetentionDays)
		}
		return fmt.Sprintf("deletions %s to the Trash Can %s: artprune restore REPORT.json undoes them", verb, days)
	case TrashDisabled:
		return "the Trash Can is disabled: deletions are permanent"
	}
	return "the Trash Can's configuration could not be read (it needs an admin): whether deletions can be undone is unknown"
}

// textWriter keeps the first write error.
type textWriter struct {
	w   io.Writer
	err error
}

func (tw *textWriter) printf(format string, args ...any) {
	if tw.err == nil {
		_, tw.err = io.WriteString(tw.w, escapeInvisible(fmt.Sprintf(format, args...)))
	}
}

// escapeInvisible escapes what could hide or reorder text on a terminal: control and format characters (such as
// bidirectional overrides and zero-width spaces, which server-supplied names may hold) as \uXXXX, and invalid UTF-8
// as \xXX. Newlines and tabs stay.
func escapeInvisible(s string) string {
	invisible := func(r rune) bool {
		return r != '\n' && r != '\t' && (r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf))
	}
	if !strings.ContainsFunc(s, invisible) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func (tw *textWriter) repo(dryRun bool, rr RepoReport, lists repoLists) {
	s := rr.Summary
	tw.printf("repository %s (server time %s, min age %s)\n", rr.Repo, orDash(rr.ServerTime), HumanDuration(time.Duration(rr.MinAgeSeconds)*time.Second))
	if rr.Error != "" {
		tw.printf("  FAILED, nothing deleted: %s\n", indent(rr.Error))
		if s.Images == 0 {
			return // nothing was listed: counts of zero would only add noise
		}
	}
	tw.printf("  %d images, %d tags, %d indexes, %d manifests, %d digest folders\n", s.Images, s.Tags, s.Indexes, s.Manifests, s.DigestFolders)
	if rr.TrashCan != nil {
		tw.printf("  %s\n", trashLine(dryRun, rr.TrashCan))
	}
	k := s.Kept
	var kept []string
	for _, c := range []struct {
		r Reason
		n int
	}{
		{ReasonImageSkipped, k.ImageSkipped}, {ReasonTagDigest, k.TagDigest}, {ReasonTagged, k.Tagged},
		{ReasonReferrer, k.Referrer}, {ReasonProtected, k.Protected}, {ReasonPulled, k.Pulled}, {ReasonYoung, k.Young}, {ReasonChanged, k.ChangedDuringRun},
		{ReasonNotApproved, k.NotApproved},
	} {
		if c.n > 0 {
			kept = append(kept, fmt.Sprintf("%s %d", c.r, c.n))
		}
	}
	tw.printf("  kept %d", k.Total)
	if len(kept) > 0 {
		tw.printf(" (%s)", strings.Join(kept, ", "))
	}
	tw.printf("; %s\n", deletionSummary(dryRun, s))
	for _, td := range rr.DeletedTags {
		tw.printf("    %-13s tag %s\n", td.Outcome, td.Path)
		if td.Error != "" {
			tw.printf("      %s\n", indent(td.Error))
		}
	}
	_ = lists.deletions(func(d DeletionReport) error {
		size := "size unknown"
		if d.Bytes != nil {
			size = HumanBytes(*d.Bytes)
		}
		tw.printf("    %-13s %s  %s  age %s  %s\n", d.Outcome, d.Path, orDash(d.MediaType), d.Age, size)
		if d.Error != "" {
			tw.printf("      %s\n", indent(d.Error))
		}
		return tw.err
	})
	_ = lists.images(func(img ImageReport) error {
		if img.Error != "" {
			tw.printf("  %s\n", indent(img.Error))
		}
		if len(img.ChangedFiles) > 0 {
			tw.printf("  image %s changed during the run, its deletions withdrawn: %s\n", img.Image, strings.Join(img.ChangedFiles, ", "))
		}
		return tw.err
	})
	if s.MissingReferences > 0 {
		tw.printf("  missing references: %d (digests referenced within an image that has no folder for them; not an error)\n", s.MissingReferences)
	}
	if len(rr.ExcludedImages) > 0 {
		tw.printf("  excluded images (not read, not judged): %d: %s\n", len(rr.ExcludedImages), strings.Join(rr.ExcludedImages, ", "))
	}
	for _, na := range rr.NotApplied {
		tw.printf("  not applied: %s: %s\n", na.Path, indent(na.Why))
	}
	for _, m := range rr.MalformedFiles {
		tw.printf("  malformed: %s is outside any image, ignored\n", m)
	}
	if rr.BytesError != "" {
		tw.printf("  sizes unknown: %s\n", indent(rr.BytesError))
	}
	if rr.ApplyError != "" && rr.Error == "" { // a failed repository's apply error only repeats it
		tw.printf("  %s\n", indent(rr.ApplyError))
	}
	for _, h := range rr.Healed {
		switch h.Outcome {
		case string(HealFailed):
			tw.printf("  LIVE AGAIN, NOT RESTORED %s: %s: %s\n", h.Path, h.Why, indent(h.Error))
		default:
			tw.printf("  %s %s: %s\n", h.Outcome, h.Path, h.Why)
		}
	}
	if rr.HealError != "" {
		tw.printf("  FINAL CHECK FAILED: %s\n", indent(rr.HealError))
	}
	if p := rr.TrashPurge; p != nil {
		n := 0
		for _, f := range p.Folders {
			if f.Outcome == string(PurgeFailed) {
				tw.printf("  PURGE FAILED %s: %s\n", f.Path, indent(f.Error))
			} else {
				n++
			}
		}
		verb := "purged"
		if dryRun {
			verb = "would purge"
		}
		tw.printf("  trash can: %s %d folders artprune deleted over %s ago (frees %s once garbage collection runs); kept %d younger, %d referenced again\n",
			verb, n, HumanDuration(time.Duration(p.AfterSeconds)*time.Second), HumanBytes(p.FreedBytes), p.KeptYoung, p.KeptReferenced)
		for _, sk := range p.SkippedImages {
			tw.printf("  PURGE SKIPPED image %s (%d folders left in the Trash Can): %s\n", sk.Image, sk.Folders, indent(sk.Error))
		}
		if p.KeptNotArtprunes > 0 {
			tw.printf("  trash can: left %d marked folders whose mark is not bound to their deletion (deleted again by someone else, or marked by an older artprune): never purged\n", p.KeptNotArtprunes)
		}
		if p.Error != "" {
			tw.printf("  PURGE FAILED: %s\n", indent(p.Error))
		}
	}
}

// deletionSummary says how many folders were (or would be) deleted, their size and the outcomes.
func deletionSummary(dryRun bool, s Summary) string {
	size := "size unknown"
	if s.Bytes != nil {
		size = fmt.Sprintf("%s, estimated freed %s", HumanBytes(*s.Bytes), HumanBytes(*s.FreedBytesEstimate))
	}
	if dryRun {
		tags := ""
		if s.TagDeletions > 0 {
			tags = fmt.Sprintf("%d tags and ", s.TagDeletions)
		}
		return fmt.Sprintf("would delete %s%d folders (%s)", tags, s.Deletions, size)
	}
	tags := ""
	if t := s.TagOutcomes; s.TagDeletions > 0 {
		tags = fmt.Sprintf("planned %d tag deletions: %d deleted, %d already gone, %d forbidden, %d failed, %d not attempted; ",
			s.TagDeletions, t.Deleted, t.AlreadyGone, t.Forbidden, t.Failed, t.NotAttempted)
	}
	o := s.Outcomes
	out := fmt.Sprintf("%splanned %d deletions (%s): %d deleted, %d already gone, %d forbidden, %d failed, %d not attempted",
		tags, s.Deletions, size, o.Deleted, o.AlreadyGone, o.Forbidden, o.Failed, o.NotAttempted)
	if o.Restored > 0 || s.HealFailures > 0 {
		out += fmt.Sprintf(", %d restored by the final check (%d could not be)", o.Restored, s.HealFailures)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// indent keeps the lines of a multi-line message under the line that starts it.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// HumanDuration formats d compactly with its two largest units: "3d4h", "5h12m", "42m", "30s".
func HumanDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Truncate(time.Second)
	day := 24 * time.Hour
	switch {
	case d >= day:
		return fmt.Sprintf("%s%dd%dh", sign, d/day, (d%day)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%s%dh%dm", sign, d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%s%dm", sign, d/time.Minute)
	}
	return fmt.Sprintf("%s%ds", sign, d/time.Second)
}

// HumanBytes formats n in binary units: "512 B", "1.5 KiB", "12.0 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= unit
		if f < unit && f > -unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f PiB", f/unit)
}
