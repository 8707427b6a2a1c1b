package artifactorytest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest/aql"
)

// Repository types, as Artifactory names them in its repository API (upper case in lists, lower case in rclass).
const (
	RepoLocal   = "local"
	RepoRemote  = "remote"
	RepoVirtual = "virtual"
)

// Package types the emulator knows.
const (
	PackageDocker  = "docker"
	PackageGeneric = "generic"
)

// Errors returned by the Store.
var (
	ErrNoRepo     = errors.New("repository not found")
	ErrNotFound   = errors.New("item not found")
	ErrBadPath    = errors.New("invalid path")
	ErrNotAFolder = errors.New("parent is a file")
	ErrIsFolder   = errors.New("path is a folder")
	ErrNoBlob     = errors.New("content not found")
)

// Repo is an Artifactory repository.
type Repo struct {
	Key         string `json:"key"`
	Type        string `json:"type"`        // local, remote or virtual
	PackageType string `json:"packageType"` // docker or generic
	Description string `json:"description,omitempty"`
}

// Item is a file or a folder. Items are immutable once stored: the Store replaces them instead of changing them,
// so a reader may keep using an *Item after the Store's lock is released.
type Item struct {
	id         uint64 // 0 once removed
	slot       int    // index in Store.order
	nameSlot   int    // index in the name index (nameindex.go)
	Repo       string
	Path       string // the parent folder relative to the repository, "." at the root, as AQL reports it
	Name       string
	Folder     bool
	Created    time.Time
	Modified   time.Time
	Updated    time.Time
	CreatedBy  string
	ModifiedBy string
	Props      map[string][]string
	blob       *blob // nil for folders
}

// FullPath returns the item's path relative to its repository, without a leading slash.
func (it *Item) FullPath() string { return joinPath(it.Path, it.Name) }

// Size returns the file size in bytes (0 for folders).
func (it *Item) Size() int64 {
	if it.blob == nil {
		return 0
	}
	return it.blob.size
}

// SHA256 returns the file's sha256 as lowercase hex ("" for folders).
func (it *Item) SHA256() string {
	if it.blob == nil {
		return ""
	}
	return it.blob.sha256
}

// SHA1 returns the file's sha1 as lowercase hex ("" for folders).
func (it *Item) SHA1() string {
	if it.blob == nil {
		return ""
	}
	return it.blob.sha1
}

// MD5 returns the file's md5 as lowercase hex ("" for folders).
func (it *Item) MD5() string {
	if it.blob == nil {
		return ""
	}
	return it.blob.md5
}

// Depth is the item's depth as AQL counts it: a file in the repository root has depth 1.
func (it *Item) Depth() int64 {
	if it.Path == "." {
		return 1
	}
	return int64(strings.Count(it.Path, "/") + 2)
}

// Field implements aql.Row.
func (it *Item) Field(name string) (any, bool) {
	if v, ok := it.StringField(name); ok {
		return v, true
	}
	if v, ok := it.IntField(name); ok {
		return v, true
	}
	if v, ok := it.TimeField(name); ok {
		return v, true
	}
	return nil, false
}

// Properties implements aql.Row.
func (it *Item) Properties() map[string][]string { return it.Props }

// blob is one binary in the content store, shared by every path that holds the same checksum.
type blob struct {
	sha256, sha1, md5 string
	size              int64
	data              []byte // nil for metadata-only blobs: their content is produced on demand
	refs              int
}

// content returns the blob's bytes. A metadata-only blob yields deterministic filler of its size, whose checksum
// does not match: such blobs exist only in generated repositories, for scale, and are documented as such.
func (b *blob) content() []byte {
	if b.data != nil || b.size == 0 {
		return b.data
	}
	out := make([]byte, b.size)
	seed := []byte(b.sha256)
	for i := range out {
		out[i] = seed[i%len(seed)]
	}
	return out
}

// Checksums of a binary.
type Checksums struct {
	SHA256, SHA1, MD5 string
	Size              int64
}

// ChecksumsOf computes the checksums of data.
func ChecksumsOf(data []byte) Checksums {
	s256 := sha256.Sum256(data)
	s1 := sha1.Sum(data)
	m5 := md5.Sum(data)
	return Checksums{SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:]), Size: int64(len(data))}
}

// FileSpec describes a file to store. Exactly one of Data, Blob (an existing checksum) or Meta (metadata only) is used,
// in that order of preference.
type FileSpec struct {
	Repo  string
	Path  string // full path of the file relative to the repository
	Data  []byte
	Blob  string     // sha256 of content already in the store
	Meta  *Checksums // metadata-only content (generated repositories and fixtures without content)
	Props map[string][]string
	By    string
	// Created, Modified and Updated default to the store's clock.
	Created, Modified, Updated time.Time
}

// Store is the emulator's thread-safe storage: repositories, items and a deduplicated content store.
type Store struct {
	clock *Clock

	mu       sync.RWMutex
	repos    map[string]Repo
	items    map[itemKey]*Item
	children map[itemKey]map[string]*Item // folder -> its children by name; the repository root has path ""
	order    []*Item                      // insertion ("database") order; deleted entries are nil until compaction
	deleted  int
	blobs    map[string]*blob
	nextID   uint64
	byName   map[string]*nameList   // items by name, for AQL queries on names (nameindex.go)
	stats    map[itemKey]*aql.Stats // download statistics of files (downloads.go); values are replaced, never changed
	trash    TrashConfig            // the Trash Can (trash.go)
}

type itemKey struct{ repo, path string }

// NewStore returns an empty store on clock.
func NewStore(clock *Clock) *Store {
	s := &Store{
		clock:    clock,
		repos:    map[string]Repo{},
		items:    map[itemKey]*Item{},
		children: map[itemKey]map[string]*Item{},
		blobs:    map[string]*blob{},
		trash:    DefaultTrashConfig,
	}
	s.ensureTrashRepoLocked()
	return s
}

// AddRepo creates or replaces a repository definition.
func (s *Store) AddRepo(r Repo) error {
	if r.Key == "" || strings.ContainsAny(r.Key, "/\\ ") {
		return fmt.Errorf("repository key %q: %w", r.Key, ErrBadPath)
	}
	if r.Key == TrashRepo {
		return fmt.Errorf("repository key %q: reserved for the Trash Can", r.Key)
	}
	switch r.Type {
	case RepoLocal, RepoRemote, RepoVirtual:
	case "":
		r.Type = RepoLocal
	default:
		return fmt.Errorf("repository %q: unknown type %q (want local, remote or virtual)", r.Key, r.Type)
	}
	if r.PackageType == "" {
		r.PackageType = PackageDocker
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[r.Key] = r
	if s.children[itemKey{r.Key, ""}] == nil {
		s.children[itemKey{r.Key, ""}] = map[string]*Item{}
	}
	return nil
}

// Repo returns the repository named key.
func (s *Store) Repo(key string) (Repo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.repos[key]
	return r, ok
}

// Repos returns every repository, sorted by key, without the Trash Can (Artifactory lists it nowhere).
func (s *Store) Repos() []Repo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.DeleteFunc(slices.Collect(maps.Values(s.repos)), func(r Repo) bool { return r.Type == RepoTrash })
	slices.SortFunc(out, func(a, b Repo) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// CleanPath validates a repository-relative path and returns it without leading or trailing slashes.
// It refuses empty segments, "." and "..": Artifactory normalises or rejects them, and the emulator must never
// let a client address something outside the path it named.
func CleanPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsRune(seg, 0) {
			return "", fmt.Errorf("%w: %q", ErrBadPath, p)
		}
	}
	return p, nil
}

func splitPath(full string) (parent, name string) {
	i := strings.LastIndexByte(full, '/')
	if i < 0 {
		return ".", full
	}
	return full[:i], full[i+1:]
}

func joinPath(parent, name string) string {
	if parent == "." || parent == "" {
		return name
	}
	return parent + "/" + name
}

// Get returns the item at repo/full.
func (s *Store) Get(repo, full string) (*Item, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.items[itemKey{repo, full}]
	return it, ok
}

// Content returns the bytes of a file.
func (s *Store) Content(it *Item) ([]byte, error) {
	if it.Folder || it.blob == nil {
		return nil, ErrIsFolder
	}
	return it.blob.content(), nil
}

// HasBlob reports whether the content store holds a binary with this sha256.
func (s *Store) HasBlob(sha string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.blobs[sha]
	return ok
}

// BlobContent returns the content of the binary with this sha256.
func (s *Store) BlobContent(sha string) ([]byte, bool) {
	s.mu.RLock()
	b, ok := s.blobs[sha]
	s.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return b.content(), true
}

// PutFile stores a file, creating its parent folders, and replaces any file at that path.
func (s *Store) PutFile(f FileSpec) (*Item, error) {
	full, err := CleanPath(f.Path)
	if err != nil {
		return nil, err
	}
	if full == "" {
		return nil, fmt.Errorf("%w: empty file path", ErrBadPath)
	}
	var sums Checksums
	switch {
	case f.Data != nil:
		sums = ChecksumsOf(f.Data)
	case f.Blob != "":
		sums = Checksums{SHA256: f.Blob}
	case f.Meta != nil:
		sums = *f.Meta
	default:
		sums = ChecksumsOf([]byte{})
		f.Data = []byte{}
	}
	now := s.clock.Now()
	by := f.By
	if by == "" {
		by = "admin"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[f.Repo]; !ok {
		return nil, fmt.Errorf("%q: %w", f.Repo, ErrNoRepo)
	}
	parent, name := splitPath(full)
	key := itemKey{f.Repo, full}
	old, exists := s.items[key]
	if exists && old.Folder {
		return nil, fmt.Errorf("%s/%s: %w", f.Repo, full, ErrIsFolder)
	}
	b, ok := s.blobs[sums.SHA256]
	switch {
	case ok:
	case f.Blob != "":
		return nil, fmt.Errorf("sha256 %s: %w", f.Blob, ErrNoBlob)
	default:
		b = &blob{sha256: sums.SHA256, sha1: sums.SHA1, md5: sums.MD5, size: sums.Size, data: f.Data}
	}
	created := orDefault(f.Created, now)
	if err := s.ensureFolderLocked(f.Repo, parent, by, created); err != nil {
		return nil, err
	}
	s.blobs[sums.SHA256] = b
	b.refs++ // before the old file releases its reference: overwriting a file with itself must keep the blob
	if exists {
		if f.Created.IsZero() {
			created = old.Created // Artifactory keeps the creation time when a file is overwritten
		}
		s.removeLocked(old)
	}
	it := &Item{
		Repo: f.Repo, Path: parent, Name: name,
		Created: created, Modified: orDefault(f.Modified, now), Updated: orDefault(f.Updated, now),
		CreatedBy: by, ModifiedBy: by, Props: cloneProps(f.Props), blob: b,
	}
	s.insertLocked(it)
	return it, nil
}

// MkdirAll creates a folder and its parents.
func (s *Store) MkdirAll(repo, full, by string) error {
	full, err := CleanPath(full)
	if err != nil {
		return err
	}
	if by == "" {
		by = "admin"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[repo]; !ok {
		return fmt.Errorf("%q: %w", repo, ErrNoRepo)
	}
	if full == "" {
		return nil
	}
	return s.ensureFolderLocked(repo, full, by, s.clock.Now())
}

func orDefault(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func cloneProps(p map[string][]string) map[string][]string {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string][]string, len(p))
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

// ensureFolderLocked creates folder (a full path, "." or "" for the root) and its parents.
func (s *Store) ensureFolderLocked(repo, folder, by string, now time.Time) error {
	if folder == "." || folder == "" {
		return nil
	}
	key := itemKey{repo, folder}
	if it, ok := s.items[key]; ok {
		if !it.Folder {
			return fmt.Errorf("%s/%s: %w", repo, folder, ErrNotAFolder)
		}
		return nil
	}
	parent, name := splitPath(folder)
	if err := s.ensureFolderLocked(repo, parent, by, now); err != nil {
		return err
	}
	s.insertLocked(&Item{Repo: repo, Path: parent, Name: name, Folder: true,
		Created: now, Modified: now, Updated: now, CreatedBy: by, ModifiedBy: by})
	return nil
}

func (s *Store) insertLocked(it *Item) {
	s.nextID++
	it.id = s.nextID
	full := it.FullPath()
	s.items[itemKey{it.Repo, full}] = it
	parentKey := itemKey{it.Repo, strings.TrimPrefix(it.Path, ".")}
	kids := s.children[parentKey]
	if kids == nil {
		kids = map[string]*Item{}
		s.children[parentKey] = kids
	}
	kids[it.Name] = it
	if it.Folder && s.children[itemKey{it.Repo, full}] == nil {
		s.children[itemKey{it.Repo, full}] = map[string]*Item{}
	}
	it.slot = len(s.order)
	s.order = append(s.order, it)
	s.indexNameLocked(it)
}

// removeLocked removes one item (not its children) and releases its blob.
func (s *Store) removeLocked(it *Item) {
	full := it.FullPath()
	delete(s.items, itemKey{it.Repo, full})
	delete(s.stats, itemKey{it.Repo, full})
	if kids := s.children[itemKey{it.Repo, strings.TrimPrefix(it.Path, ".")}]; kids != nil {
		delete(kids, it.Name)
	}
	if it.Folder {
		delete(s.children, itemKey{it.Repo, full})
	}
	if it.blob != nil {
		it.blob.refs--
		if it.blob.refs <= 0 {
			delete(s.blobs, it.blob.sha256)
		}
	}
	s.unindexNameLocked(it)
	s.deleted++
	it.id = 0 // marks the order slot dead; compacted lazily
	if s.deleted > 1024 && s.deleted > len(s.order)/2 {
		s.compactLocked()
	}
}

func (s *Store) compactLocked() {
	live := s.order[:0]
	for _, it := range s.order {
		if it.id != 0 {
			it.slot = len(live)
			live = append(live, it)
		}
	}
	clear(s.order[len(live):])
	s.order = live
	s.deleted = 0
}

// Delete removes the file or folder at repo/full; a folder goes with everything below it. It returns the number
// of items removed. An empty path deletes the repository's content.
func (s *Store) Delete(repo, full string) (int, error) {
	full, err := CleanPath(full)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[repo]; !ok {
		return 0, fmt.Errorf("%q: %w", repo, ErrNoRepo)
	}
	if full == "" {
		n := 0
		for _, kid := range slices.Collect(maps.Values(s.children[itemKey{repo, ""}])) {
			n += s.deleteTreeLocked(kid)
		}
		return n, nil
	}
	it, ok := s.items[itemKey{repo, full}]
	if !ok {
		return 0, fmt.Errorf("%s/%s: %w", repo, full, ErrNotFound)
	}
	return s.deleteTreeLocked(it), nil
}

func (s *Store) deleteTreeLocked(it *Item) int {
	n := 0
	if it.Folder {
		for _, kid := range slices.Collect(maps.Values(s.children[itemKey{it.Repo, it.FullPath()}])) {
			n += s.deleteTreeLocked(kid)
		}
	}
	s.removeLocked(it)
	return n + 1
}

// Children returns the direct children of a folder ("" for the repository root), sorted by name.
func (s *Store) Children(repo, folder string) ([]*Item, error) {
	folder, err := CleanPath(folder)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	kids, ok := s.children[itemKey{repo, folder}]
	if !ok {
		return nil, fmt.Errorf("%s/%s: %w", repo, folder, ErrNotFound)
	}
	out := slices.Collect(maps.Values(kids))
	slices.SortFunc(out, func(a, b *Item) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SetProps replaces (or, with merge, adds to) the properties of the item at repo/full.
func (s *Store) SetProps(repo, full string, props map[string][]string, merge bool) error {
	full, err := CleanPath(full)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[itemKey{repo, full}]
	if !ok {
		return fmt.Errorf("%s/%s: %w", repo, full, ErrNotFound)
	}
	it := *old
	if merge {
		it.Props = cloneProps(old.Props)
		if it.Props == nil {
			it.Props = map[string][]string{}
		}
		for k, v := range props {
			it.Props[k] = slices.Clone(v)
		}
	} else {
		it.Props = cloneProps(props)
	}
	it.Updated = s.clock.Now()
	// Replace in place in the indexes (same id, same order slot).
	s.items[itemKey{repo, full}] = &it
	s.children[itemKey{repo, strings.TrimPrefix(it.Path, ".")}][it.Name] = &it
	s.order[it.slot] = &it
	s.replaceNameLocked(old, &it)
	old.id = 0 // readers holding the old version still see it; the store does not
	return nil
}

// Items yields a consistent snapshot of every live item in database order. The snapshot is taken under the read
// lock; iterating it needs no lock since items are immutable.
func (s *Store) Items() iter.Seq[*Item] {
	s.mu.RLock()
	snap := make([]*Item, 0, len(s.order)-s.deleted)
	for _, it := range s.order {
		if it.id != 0 {
			snap = append(snap, it)
		}
	}
	s.mu.RUnlock()
	return slices.Values(snap)
}

// Scan holds the read lock while fn runs and gives it an iteration over every live item in database order, without
// copying the index. fn must not call back into the Store.
func (s *Store) Scan(fn func(items iter.Seq[*Item])) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(func(yield func(*Item) bool) {
		for _, it := range s.order {
			if it.id != 0 && !yield(it) {
				return
			}
		}
	})
}

// Walk calls fn for every item at or below repo/prefix (a folder path, "" for the whole repository), parents first.
func (s *Store) Walk(repo, prefix string, fn func(*Item) bool) error {
	prefix, err := CleanPath(prefix)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var walk func(folder string) bool
	walk = func(folder string) bool {
		kids := s.children[itemKey{repo, folder}]
		names := slices.Sorted(maps.Keys(kids))
		for _, n := range names {
			it := kids[n]
			if !fn(it) {
				return false
			}
			if it.Folder && !walk(it.FullPath()) {
				return false
			}
		}
		return true
	}
	if prefix != "" {
		it, ok := s.items[itemKey{repo, prefix}]
		if !ok {
			return fmt.Errorf("%s/%s: %w", repo, prefix, ErrNotFound)
		}
		if !fn(it) || !it.Folder {
			return nil
		}
	}
	walk(prefix)
	return nil
}

// Len returns the number of live items.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// pinBlobs holds a reference on each of these content-store binaries, so that deleting the last path holding one
// does not drop it from the content store while a manifest write re-links it. It returns the ones not in the store
// and a function that releases the pins.
func (s *Store) pinBlobs(shas []string) (missing []string, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pinned []*blob
	for _, sha := range shas {
		b, ok := s.blobs[sha]
		if !ok {
			missing = append(missing, sha)
			continue
		}
		b.refs++
		pinned = append(pinned, b)
	}
	return missing, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range pinned {
			b.refs--
			if b.refs <= 0 && s.blobs[b.sha256] == b {
				delete(s.blobs, b.sha256)
			}
		}
	}
}

// StringField implements aql.TypedRow, so AQL scans read fields without boxing them.
func (it *Item) StringField(name string) (string, bool) {
	switch name {
	case "repo":
		return it.Repo, true
	case "path":
		return it.Path, true
	case "name":
		return it.Name, true
	case "type":
		if it.Folder {
			return "folder", true
		}
		return "file", true
	case "created_by":
		return it.CreatedBy, true
	case "modified_by":
		return it.ModifiedBy, true
	}
	if it.blob == nil {
		return "", false
	}
	switch name {
	case "sha256":
		return it.blob.sha256, true
	case "actual_sha1", "original_sha1":
		return it.blob.sha1, true
	case "actual_md5", "original_md5":
		return it.blob.md5, true
	}
	return "", false
}

// IntField implements aql.TypedRow.
func (it *Item) IntField(name string) (int64, bool) {
	switch name {
	case "size":
		return it.Size(), true
	case "depth":
		return it.Depth(), true
	}
	return 0, false
}

// TimeField implements aql.TypedRow.
func (it *Item) TimeField(name string) (time.Time, bool) {
	switch name {
	case "created":
		return it.Created, true
	case "modified":
		return it.Modified, true
	case "updated":
		return it.Updated, true
	}
	return time.Time{}, false
}
