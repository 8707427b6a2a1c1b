// Package planfile reads and writes the plan that "artprune plan" writes and "artprune apply" applies: per
// repository, the digest folders to delete with the evidence they were judged on. A plan is data a person
// approves, so reading it is strict: a wrong schema version or kind, an unknown field, a path that the delete
// guard would refuse or that does not match its image and digest, a malformed checksum, or a repository or folder
// listed twice is an error, and nothing is applied.
package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/artprune/artprune/internal/atomicfile"
	"github.com/artprune/artprune/prune"
)

// SchemaVersion is the version of the plan format.
const SchemaVersion = 1

// Kind marks a plan file.
const Kind = "artprune-plan"

// Plan is the content of a plan file.
type Plan struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	// ArtpruneVersion is the version of artprune that wrote the plan.
	ArtpruneVersion string `json:"artprune_version"`
	// CreatedAt is when the plan was written (the local clock, UTC RFC 3339; ages use the server's).
	CreatedAt string `json:"created_at"`
	// URL is the Artifactory base URL the plan was made against; apply refuses another.
	URL string `json:"url"`
	// MinAgeSeconds is the grace period the plan used; apply judges again with it.
	MinAgeSeconds int64 `json:"min_age_seconds"`
	// KeepPulledWithinSeconds is the --keep-pulled-within window the plan used (absent or 0: off); apply judges again
	// with it.
	KeepPulledWithinSeconds int64 `json:"keep_pulled_within_seconds,omitempty"`
	// KeepProperty, IncludeImages and ExcludeImages are the settings the plan used; apply judges again with them.
	KeepProperty  string   `json:"keep_property"`
	IncludeImages []string `json:"include_images"`
	ExcludeImages []string `json:"exclude_images"`
	// DeleteTags, in a plan of artprune delete --out, are its REPO/IMAGE:TAG arguments; apply then deletes the
	// approved tag folders (Repo.Tags) and the digest folders only they keep. Absent in a prune plan.
	DeleteTags   []string `json:"delete_tags,omitempty"`
	Repositories []Repo   `json:"repositories"`
}

// Repo is the plan of one repository.
type Repo struct {
	Repo string `json:"repo"`
	// ServerTime is the server's time when the repository was planned; ages are measured from it.
	ServerTime string `json:"server_time"`
	// Error says why the repository could not be planned; it then has no folders.
	Error   string   `json:"error,omitempty"`
	Folders []Folder `json:"folders"`
	// Tags, in a plan of artprune delete, are the tag folders to delete with the manifests they held.
	Tags []Tag `json:"tags,omitempty"`
}

// Tag is one tag folder to delete (artprune delete), with its evidence.
type Tag struct {
	// Path is the tag folder, "<image>/<tag>".
	Path      string     `json:"path"`
	Manifests []Manifest `json:"manifests"`
}

// Folder is one digest folder to delete, with its evidence.
type Folder struct {
	Path      string `json:"path"`
	Image     string `json:"image"`
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
	// Manifests are the manifest files of the folder with their sha256 checksums, as listed.
	Manifests  []Manifest `json:"manifests"`
	AgeSeconds int64      `json:"age_seconds"`
	// Bytes is the size of the folder's files; null when unknown.
	Bytes *int64 `json:"bytes"`
	// Reason says why the folder is deleted.
	Reason string `json:"reason"`
}

// Manifest is a manifest file of a folder.
type Manifest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// ReasonOnlyNamedTags is the reason of the digest folders of a plan of artprune delete.
const ReasonOnlyNamedTags = "reached only by the tags to delete"

// ReasonDangling is the reason of every planned deletion of a prune plan.
const ReasonDangling = "dangling: no tag, protected folder, manifest younger than the grace period, or live referrer reaches it"

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	digestRe  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// MinAge returns the plan's grace period.
func (p *Plan) MinAge() time.Duration { return time.Duration(p.MinAgeSeconds) * time.Second }

// KeepPulledWithin returns the plan's --keep-pulled-within window; 0 when off.
func (p *Plan) KeepPulledWithin() time.Duration {
	return time.Duration(p.KeepPulledWithinSeconds) * time.Second
}

// Validate checks everything Read checks but the decoding.
func (p *Plan) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.SchemaVersion != SchemaVersion {
		bad("schema_version %d: this artprune reads version %d", p.SchemaVersion, SchemaVersion)
	}
	if p.Kind != Kind {
		bad("kind %q: want %q", p.Kind, Kind)
	}
	if p.URL == "" {
		bad("url is empty")
	}
	if p.MinAgeSeconds <= 0 {
		bad("min_age_seconds %d: must be positive", p.MinAgeSeconds)
	}
	if p.KeepPulledWithinSeconds < 0 {
		bad("keep_pulled_within_seconds %d: must not be negative", p.KeepPulledWithinSeconds)
	}
	for i, a := range p.DeleteTags {
		if _, _, err := prune.ParseTagRef(a); err != nil {
			bad("delete_tags[%d]: %w", i, err)
		}
	}
	tagPlan := len(p.DeleteTags) > 0
	repos := map[string]bool{}
	for i, r := range p.Repositories {
		if len(r.Tags) > 0 && (!tagPlan || r.Error != "") {
			bad("repositories[%d] (%s): tags in a plan without delete_tags, or in a failed repository", i, r.Repo)
		}
		tags := map[string]bool{}
		for j, tg := range r.Tags {
			where := fmt.Sprintf("repositories[%d].tags[%d] (%s/%s)", i, j, r.Repo, tg.Path)
			if err := prune.ValidateTagFolderPath(r.Repo, tg.Path); err != nil {
				bad("%s: %w", where, err)
			}
			if tags[tg.Path] {
				bad("%s: listed twice", where)
			}
			tags[tg.Path] = true
			if len(tg.Manifests) == 0 {
				bad("%s: no manifest evidence", where)
			}
			for _, m := range tg.Manifests {
				if (m.Name != prune.ManifestName && m.Name != prune.ListManifestName) || !sha256Hex.MatchString(m.SHA256) {
					bad("%s: manifest evidence %q %q: want manifest.json or list.manifest.json and 64 lowercase hex digits", where, m.Name, m.SHA256)
				}
			}
		}
		if repos[r.Repo] {
			bad("repositories[%d]: repository %q listed twice", i, r.Repo)
		}
		repos[r.Repo] = true
		if r.Error != "" && len(r.Folders) > 0 {
			bad("repositories[%d] (%s): a failed repository cannot have folders", i, r.Repo)
		}
		paths := map[string]bool{}
		for j, f := range r.Folders {
			where := fmt.Sprintf("repositories[%d].folders[%d] (%s/%s)", i, j, r.Repo, f.Path)
			if err := prune.ValidateFolderPath(r.Repo, f.Path); err != nil {
				bad("%s: %w", where, err)
				continue
			}
			if paths[f.Path] {
				bad("%s: listed twice", where)
			}
			paths[f.Path] = true
			if !digestRe.MatchString(f.Digest) || f.Path != f.Image+"/"+f.Digest {
				bad("%s: path does not match image %q and digest %q", where, f.Image, f.Digest)
			}
			if len(f.Manifests) == 0 {
				bad("%s: no manifest evidence", where)
			}
			for _, m := range f.Manifests {
				if (m.Name != prune.ManifestName && m.Name != prune.ListManifestName) || !sha256Hex.MatchString(m.SHA256) {
					bad("%s: manifest evidence %q %q: want manifest.json or list.manifest.json and 64 lowercase hex digits", where, m.Name, m.SHA256)
				}
			}
			if f.AgeSeconds < p.MinAgeSeconds && !tagPlan { // the grace period does not protect what only named tags reach
				bad("%s: age %ds is below the plan's grace period", where, f.AgeSeconds)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid plan: %w", err)
	}
	return nil
}

// Read decodes and validates a plan.
func Read(r io.Reader) (*Plan, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("invalid plan: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid plan: data after the plan")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// ReadFile reads and validates the plan at path.
func ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the plan file (artprune plan --out writes it): %w", err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WriteFile writes p to path atomically, after validating it.
func WriteFile(path string, p *Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, ".artprune-plan-", func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// CheckURL refuses to apply p through an Artifactory other than the one it was made against, whose base URL is
// baseURL.
func (p *Plan) CheckURL(baseURL string) error {
	if p.URL != baseURL {
		return fmt.Errorf("the plan was made against %s, not %s: apply it to the same Artifactory", p.URL, baseURL)
	}
	return nil
}

// Index returns the folders of repo by path.
func (p *Plan) Index(repo string) map[string]Folder {
	out := map[string]Folder{}
	for _, r := range p.Repositories {
		if r.Repo == repo {
			for _, f := range r.Folders {
				out[f.Path] = f
			}
		}
	}
	return out
}
