package prune

import (
	"context"
	"time"
)

// Manifest file names in Artifactory Docker repositories.
const (
	// ManifestName is the file holding a single image manifest.
	ManifestName = "manifest.json"
	// ListManifestName is the file holding an OCI image index or a Docker manifest list.
	ListManifestName = "list.manifest.json"
)

// ManifestFile is one manifest.json or list.manifest.json found by the inventory.
type ManifestFile struct {
	Repo string
	// Path is the folder holding the file, relative to the repository: "app/sha256:<hex>" or "team/app/latest".
	Path string
	// Name is [ManifestName] or [ListManifestName].
	Name string
	Size int64
	// SHA256 is the checksum of the file as the server reports it, in lowercase hex. It is the manifest's digest.
	SHA256                     string
	Created, Modified, Updated time.Time
	// Properties are the Artifactory properties of the file; may be nil.
	Properties map[string][]string
	// Pulled is set by a source that found the file downloaded recently, locally or through another Artifactory
	// (artprune's --keep-pulled-within): the planner keeps its digest folder as a root, with [ReasonPulled].
	Pulled bool
	// Excluded is set by a source that leaves this file's image out of the run (artprune's --include-image and
	// --exclude-image): the planner neither reads, judges nor deletes anything of it, but still notes a tag folder
	// of it, since an image whose folder lies in another image's tag folder must be skipped whether or not that
	// other image is judged (see ErrTagFolderImage).
	Excluded bool
}

// File is any file inside a folder, for the bytes report.
type File struct {
	Repo string
	// Path is the folder holding the file, relative to the repository, as in [ManifestFile].
	Path   string
	Name   string
	Size   int64
	SHA256 string
}

// Source is the read side of Artifactory that the planner needs. Implementations must return an error (never a
// partial success) when a listing is incomplete: a failed page, a trimmed result, a permission-filtered view; such
// errors should wrap [ErrIncomplete]. Implementations must be safe for concurrent use: the planner reads documents
// concurrently and may plan several repositories at once. Each callback is called from one goroutine at a time; an
// error returned by a callback stops the listing and is returned.
type Source interface {
	// Now returns the server's current time (the planner never uses the local clock for ages).
	Now(ctx context.Context) (time.Time, error)
	// Manifests calls fn for every manifest.json and list.manifest.json in repo.
	Manifests(ctx context.Context, repo string, fn func(ManifestFile) error) error
	// ManifestsChangedSince calls fn for every manifest file in repo created, modified or updated after since.
	ManifestsChangedSince(ctx context.Context, repo string, since time.Time, fn func(ManifestFile) error) error
	// ReadFile returns the content of repo/path; it returns an error wrapping ErrTooLarge if it exceeds limit bytes.
	ReadFile(ctx context.Context, repo, path string, limit int64) ([]byte, error)
	// FolderFiles calls fn for every file directly inside each of folders (paths relative to repo).
	FolderFiles(ctx context.Context, repo string, folders []string, fn func(File) error) error
	// ChecksumHolders calls fn for every file in repo whose sha256 is one of sums.
	ChecksumHolders(ctx context.Context, repo string, sums []string, fn func(File) error) error
}

// Deleter deletes one folder recursively. Errors wrap ErrNotFound (already gone), ErrForbidden (no Delete
// permission) or other. [Apply] lets a started deletion finish even after its context is cancelled, so an
// implementation should bound each call with its own timeout.
type Deleter interface {
	DeleteFolder(ctx context.Context, repo, folder string) error
}
