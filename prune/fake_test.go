package prune_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/prune"
)

// t0 is the fake server's clock.
var t0 = time.Date(2025, 1, 16, 12, 0, 0, 0, time.UTC)

// Ages of fixtures, relative to t0 and the default minimum age of 24h.
const (
	old   = 72 * time.Hour
	young = time.Hour
)

const repo = "docker-local"

// blob is a config or layer file stored beside a manifest.
type blob struct {
	sha  string
	size int64
}

// doc is a manifest document with its real digest.
type doc struct {
	name   string // prune.ManifestName or prune.ListManifestName
	body   []byte
	digest digest.Digest
	blobs  []blob
}

func (d doc) hex() string { return d.digest.Encoded() }

// at returns the digest folder of d in image.
func at(image string, d doc) string { return image + "/" + string(d.digest) }

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newDoc(t testing.TB, name string, v any, blobs ...blob) doc {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	return rawDoc(name, string(b), blobs...)
}

func rawDoc(name, body string, blobs ...blob) doc {
	return doc{name: name, body: []byte(body), digest: digest.FromString(body), blobs: blobs}
}

func desc(mediaType string, d digest.Digest, size int64) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: size}
}

// ociManifest returns an OCI image manifest with a config and one layer derived from seed, and a subject if given.
func ociManifest(t testing.TB, seed string, subject ...doc) doc {
	t.Helper()
	cfg := blob{sha: sha(seed + "/config"), size: 100}
	layer := blob{sha: sha(seed + "/layer"), size: 1000}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    desc(ocispec.MediaTypeImageConfig, digest.NewDigestFromEncoded(digest.SHA256, cfg.sha), cfg.size),
		Layers:    []ocispec.Descriptor{desc(ocispec.MediaTypeImageLayerGzip, digest.NewDigestFromEncoded(digest.SHA256, layer.sha), layer.size)},
	}
	m.SchemaVersion = 2
	if len(subject) > 0 {
		s := desc(subject[0].mediaType(), subject[0].digest, int64(len(subject[0].body)))
		m.Subject = &s
	}
	return newDoc(t, prune.ManifestName, m, cfg, layer)
}

// mediaType returns the media type in d's body.
func (d doc) mediaType() string {
	var v struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(d.body, &v)
	return v.MediaType
}

// ociIndex returns an OCI image index of children.
func ociIndex(t testing.TB, children ...doc) doc {
	t.Helper()
	var refs []string
	for _, c := range children {
		refs = append(refs, string(c.digest))
	}
	return indexOf(t, ocispec.MediaTypeImageIndex, nil, refs...)
}

// indexOf returns an index of mediaType listing refs verbatim, with a subject if given.
func indexOf(t testing.TB, mediaType string, subject *doc, refs ...string) doc {
	t.Helper()
	idx := ocispec.Index{MediaType: mediaType, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	for i, r := range refs {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(r), Size: 42,
			Platform: &ocispec.Platform{Architecture: fmt.Sprintf("arch%d", i), OS: "linux"},
		})
	}
	if subject != nil {
		s := desc(subject.mediaType(), subject.digest, int64(len(subject.body)))
		idx.Subject = &s
	}
	return newDoc(t, prune.ListManifestName, idx)
}

// seedIndex returns the index of the seed issue: an amd64 manifest and its buildx attestation manifest.
func seedIndex(t testing.TB, amd64, att doc) doc {
	t.Helper()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{
		{MediaType: ocispec.MediaTypeImageManifest, Digest: amd64.digest, Size: 42, Platform: &ocispec.Platform{Architecture: "amd64", OS: "linux"}},
		{
			MediaType: ocispec.MediaTypeImageManifest, Digest: att.digest, Size: 42,
			Platform: &ocispec.Platform{Architecture: "unknown", OS: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.digest": string(amd64.digest),
				"vnd.docker.reference.type":   "attestation-manifest",
			},
		},
	}}
	idx.SchemaVersion = 2
	return newDoc(t, prune.ListManifestName, idx)
}

// fakeFile is one file of the fake Artifactory.
type fakeFile struct {
	repo, path, name string
	body             []byte
	size             int64
	sha256           string
	created          time.Time
	modified         time.Time
	updated          time.Time
	props            map[string][]string
	pulled           bool
}

func (f *fakeFile) key() string { return f.repo + "/" + path.Join(f.path, f.name) }

func (f *fakeFile) manifest() prune.ManifestFile {
	return prune.ManifestFile{
		Repo: f.repo, Path: f.path, Name: f.name, Size: f.size, SHA256: f.sha256,
		Created: f.created, Modified: f.modified, Updated: f.updated, Properties: f.props, Pulled: f.pulled,
	}
}

func (f *fakeFile) file() prune.File {
	return prune.File{Repo: f.repo, Path: f.path, Name: f.name, Size: f.size, SHA256: f.sha256}
}

func (f *fakeFile) isManifest() bool {
	return f.name == prune.ManifestName || f.name == prune.ListManifestName
}

// fakeStore is an in-memory Artifactory: a Source and a Deleter.
type fakeStore struct {
	t  testing.TB
	mu sync.Mutex

	now   time.Time
	files map[string]*fakeFile // by key

	nowErr, manifestsErr, changedErr error
	folderFilesErr, holdersErr       error
	readErr                          map[string]error // by "<repo>/<path>"
	deleteErr                        map[string]error // by "<repo>/<folder>"
	beforeDelete                     func(folder string)

	reads   map[string]int // by "<repo>/<path>"
	deletes []string       // "<repo>/<folder>", in call order
}

var (
	_ prune.Source  = (*fakeStore)(nil)
	_ prune.Deleter = (*fakeStore)(nil)
)

func newStore(t testing.TB) *fakeStore {
	return &fakeStore{
		t: t, now: t0, files: make(map[string]*fakeFile),
		readErr: make(map[string]error), deleteErr: make(map[string]error), reads: make(map[string]int),
	}
}

// fileOpt changes a file as it is stored.
type fileOpt func(*fakeFile)

// withProps sets properties.
func withProps(kv ...string) fileOpt {
	return func(f *fakeFile) {
		f.props = make(map[string][]string)
		for i := 0; i+1 < len(kv); i += 2 {
			f.props[kv[i]] = append(f.props[kv[i]], kv[i+1])
		}
	}
}

// pulled marks the file as downloaded recently, as artifactory.PulledSource does.
func pulled(f *fakeFile) { f.pulled = true }

// withSHA256 makes the listed checksum lie.
func withSHA256(s string) fileOpt { return func(f *fakeFile) { f.sha256 = s } }

// withSize makes the listed size lie.
func withSize(n int64) fileOpt { return func(f *fakeFile) { f.size = n } }

// put stores d in folder of the default repository, with its blobs, as if written age ago.
func (s *fakeStore) put(folder string, d doc, age time.Duration, opts ...fileOpt) {
	s.putIn(repo, folder, d, age, opts...)
}

func (s *fakeStore) putIn(repoKey, folder string, d doc, age time.Duration, opts ...fileOpt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.now.Add(-age)
	f := &fakeFile{
		repo: repoKey, path: folder, name: d.name, body: d.body, size: int64(len(d.body)), sha256: d.hex(),
		created: ts, modified: ts.Add(-time.Minute), updated: ts,
	}
	for _, o := range opts {
		o(f)
	}
	s.files[f.key()] = f
	for _, b := range d.blobs {
		bf := &fakeFile{repo: repoKey, path: folder, name: "sha256__" + b.sha, size: b.size, sha256: b.sha, created: ts, modified: ts, updated: ts}
		s.files[bf.key()] = bf
	}
}

// putBlob stores a file named after its checksum in folder.
func (s *fakeStore) putBlob(folder string, b blob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &fakeFile{repo: repo, path: folder, name: "sha256__" + b.sha, size: b.size, sha256: b.sha, created: s.now, modified: s.now, updated: s.now}
	s.files[f.key()] = f
}

// snapshot returns the keys of all stored files, sorted.
func (s *fakeStore) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.files))
}

// sorted returns the stored files, sorted by key.
func (s *fakeStore) sorted() []*fakeFile {
	out := slices.Collect(maps.Values(s.files))
	slices.SortFunc(out, func(a, b *fakeFile) int { return strings.Compare(a.key(), b.key()) })
	return out
}

func (s *fakeStore) Now(ctx context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now, s.nowErr
}

func (s *fakeStore) Manifests(ctx context.Context, repoKey string, fn func(prune.ManifestFile) error) error {
	return s.list(ctx, repoKey, time.Time{}, s.manifestsErr, fn)
}

func (s *fakeStore) ManifestsChangedSince(ctx context.Context, repoKey string, since time.Time, fn func(prune.ManifestFile) error) error {
	return s.list(ctx, repoKey, since, s.changedErr, fn)
}

func (s *fakeStore) list(ctx context.Context, repoKey string, since time.Time, failure error, fn func(prune.ManifestFile) error) error {
	s.mu.Lock()
	var out []prune.ManifestFile
	for _, f := range s.sorted() {
		if f.repo != repoKey || !f.isManifest() {
			continue
		}
		if !since.IsZero() && !f.created.After(since) && !f.modified.After(since) && !f.updated.After(since) {
			continue
		}
		out = append(out, f.manifest())
	}
	s.mu.Unlock()
	for i, m := range out {
		if failure != nil && i >= len(out)/2 { // half a listing, then the failure
			return failure
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return failure
}

func (s *fakeStore) ReadFile(ctx context.Context, repoKey, p string, limit int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := repoKey + "/" + p
	s.reads[key]++
	if err := s.readErr[key]; err != nil {
		return nil, err
	}
	f, ok := s.files[key]
	if !ok {
		return nil, fmt.Errorf("fake: %s: %w", key, prune.ErrNotFound)
	}
	if int64(len(f.body)) > limit {
		return nil, fmt.Errorf("fake: %s has %d bytes: %w", key, len(f.body), prune.ErrTooLarge)
	}
	return slices.Clone(f.body), nil
}

func (s *fakeStore) FolderFiles(ctx context.Context, repoKey string, folders []string, fn func(prune.File) error) error {
	s.mu.Lock()
	want := make(map[string]bool)
	for _, f := range folders {
		want[f] = true
	}
	var out []prune.File
	for _, f := range s.sorted() {
		if f.repo == repoKey && want[f.path] {
			out = append(out, f.file())
		}
	}
	failure := s.folderFilesErr
	s.mu.Unlock()
	if failure != nil {
		return failure
	}
	for _, f := range out {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeStore) ChecksumHolders(ctx context.Context, repoKey string, sums []string, fn func(prune.File) error) error {
	s.mu.Lock()
	want := make(map[string]bool)
	for _, x := range sums {
		want[x] = true
	}
	var out []prune.File
	for _, f := range s.sorted() {
		if f.repo == repoKey && want[f.sha256] {
			out = append(out, f.file())
		}
	}
	failure := s.holdersErr
	s.mu.Unlock()
	if failure != nil {
		return failure
	}
	for _, f := range out {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// DeleteFolder deletes the folder and everything under it. It fails if ctx is done, to prove that Apply lets
// started deletions finish.
func (s *fakeStore) DeleteFolder(ctx context.Context, repoKey, folder string) error {
	if s.beforeDelete != nil {
		s.beforeDelete(folder)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := repoKey + "/" + folder
	s.deletes = append(s.deletes, key)
	if err := s.deleteErr[key]; err != nil {
		return err
	}
	n := 0
	for k, f := range s.files {
		if f.repo == repoKey && (f.path == folder || strings.HasPrefix(f.path, folder+"/")) {
			delete(s.files, k)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("fake: delete %s: %w", key, prune.ErrNotFound)
	}
	return nil
}
