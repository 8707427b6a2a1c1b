package artifactorytest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Trash Can, as Artifactory 6.20 OSS implements it (knottnhupfer/artifactory-oss: TrashService.java,
// TrashServiceImpl.java, TrashInterceptor.java, TrashcanConfigDescriptor.java, TrashcanResource.java,
// SpecialReposDecorator.java, TrashcanPruner.java):
//
//   - It is the repository auto-trashcan. Deleting a file of a local repository first copies it to
//     auto-trashcan/<repo>/<path> with its properties and five more: trash.time (milliseconds since the epoch),
//     trash.deletedBy, trash.originalRepository, trash.originalRepositoryType and trash.originalPath (the path inside
//     the repository). A deleted folder's files are copied one by one; the folder, if it then exists in the Trash
//     Can, gets its own properties plus those five. A file already in the Trash Can at that path is replaced (the
//     Trash Can keeps the last thing deleted). Deleting inside auto-trashcan is permanent.
//   - It is enabled by default with a retention of 14 days (trashcanConfig in the system configuration:
//     enabled, allowPermDeletes, retentionPeriodDays).
//   - Restoring (POST api/trash/restore/<repo>/<path>?to=<repo>/<path>, admin only in 6.20) moves the items back,
//     removing trash.time, trash.deletedBy, trash.originalRepositoryType and trash.originalPath, but not
//     trash.originalRepository; the move then adds trash.restoredTime to every restored item. It answers 202.
//   - Binary garbage collection first deletes the Trash Can's files whose trash.time is older than the retention
//     period (files only: their folders stay), then frees binaries no path holds.
//   - AQL leaves auto-trashcan out of every items query that has no "repo" equality criterion.
//
// The emulator stores a binary once and frees it when no path holds it: a binary still held by a file in the Trash
// Can is not freed. It runs the garbage collection's Trash Can phase when told to (Emulator.CollectGarbage, the
// /_emulator/gc endpoint), on its own clock.

// TrashRepo is the key of Artifactory's Trash Can repository.
const TrashRepo = "auto-trashcan"

// Properties Artifactory sets on items in the Trash Can (TrashService.java).
const (
	PropTrashTime         = "trash.time"
	PropTrashDeletedBy    = "trash.deletedBy"
	PropTrashOrigRepo     = "trash.originalRepository"
	PropTrashOrigRepoType = "trash.originalRepositoryType"
	PropTrashOrigPath     = "trash.originalPath"
	PropTrashRestoredTime = "trash.restoredTime"
)

// RepoTrash is the type of the Trash Can repository; it never appears in repository lists.
const RepoTrash = "trash"

// DefaultTrashRetentionDays is Artifactory's default retention (TrashcanConfigDescriptor.DEFAULT_RETENTION_PERIOD_DAYS).
const DefaultTrashRetentionDays = 14

// TrashConfig is the Trash Can's configuration.
type TrashConfig struct {
	// Enabled sends deleted items to the Trash Can.
	Enabled bool
	// RetentionDays is how long garbage collection keeps items in it.
	RetentionDays int
	// NoAPI makes api/trash/* answer as editions without it do: HTTP 400 "This REST API is available only in
	// Artifactory Pro" (the answer OSS and JCR give Pro-only APIs; jfrog/terraform-provider-artifactory#35,
	// jfrog/artifactory-client-java#203). The oss and jcr editions (WithEdition) always answer so.
	NoAPI bool
}

// DefaultTrashConfig is Artifactory's default: enabled, 14 days, the API available.
var DefaultTrashConfig = TrashConfig{Enabled: true, RetentionDays: DefaultTrashRetentionDays}

// Errors of the Trash Can.
var (
	ErrRestoreTarget = errors.New("restore repository does not exist")
)

// SetTrash changes the Trash Can's configuration.
func (s *Store) SetTrash(cfg TrashConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trash = cfg
}

// Trash returns the Trash Can's configuration.
func (s *Store) Trash() TrashConfig {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.trash
}

// ensureTrashRepoLocked creates the Trash Can repository.
func (s *Store) ensureTrashRepoLocked() {
	if _, ok := s.repos[TrashRepo]; ok {
		return
	}
	s.repos[TrashRepo] = Repo{Key: TrashRepo, Type: RepoTrash, PackageType: PackageGeneric, Description: "Trash Can"}
	s.children[itemKey{TrashRepo, ""}] = map[string]*Item{}
}

// DeleteAs removes the file or folder at repo/full as a user's DELETE does: with the Trash Can enabled and repo a
// local repository, every file below it is first copied to auto-trashcan/<repo>/<path>. It returns the number of
// items removed from repo.
func (s *Store) DeleteAs(repo, full, by string) (int, error) {
	full, err := CleanPath(full)
	if err != nil {
		return 0, err
	}
	if by == "" {
		by = "admin"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[repo]
	if !ok {
		return 0, fmt.Errorf("%q: %w", repo, ErrNoRepo)
	}
	var roots []*Item
	if full == "" {
		roots = slices.Collect(maps.Values(s.children[itemKey{repo, ""}]))
	} else {
		it, ok := s.items[itemKey{repo, full}]
		if !ok {
			return 0, fmt.Errorf("%s/%s: %w", repo, full, ErrNotFound)
		}
		roots = []*Item{it}
	}
	if s.trash.Enabled && r.Type == RepoLocal {
		now := s.clock.Now()
		for _, it := range roots {
			s.trashTreeLocked(it, r, by, now)
		}
	}
	n := 0
	for _, it := range roots {
		n += s.deleteTreeLocked(it)
	}
	return n, nil
}

// trashTreeLocked copies the files below it (and it) to the Trash Can, then marks the folders that exist there.
func (s *Store) trashTreeLocked(it *Item, r Repo, by string, now time.Time) {
	if it.Folder {
		for _, kid := range slices.Collect(maps.Values(s.children[itemKey{it.Repo, it.FullPath()}])) {
			s.trashTreeLocked(kid, r, by, now)
		}
		if t, ok := s.items[itemKey{TrashRepo, r.Key + "/" + it.FullPath()}]; ok && t.Folder {
			s.replacePropsLocked(t, trashProps(it, r, by, now))
		}
		return
	}
	s.ensureTrashRepoLocked()
	trashPath := r.Key + "/" + it.FullPath()
	// The Trash Can keeps the last thing deleted: files in the way of this path go.
	parts := strings.Split(trashPath, "/")
	for i := 1; i < len(parts); i++ {
		if anc, ok := s.items[itemKey{TrashRepo, strings.Join(parts[:i], "/")}]; ok && !anc.Folder {
			s.removeLocked(anc)
		}
	}
	if old, ok := s.items[itemKey{TrashRepo, trashPath}]; ok {
		s.deleteTreeLocked(old)
	}
	parent, name := splitPath(trashPath)
	_ = s.ensureFolderLocked(TrashRepo, parent, by, now)
	it.blob.refs++
	// Timestamps are kept as the original's (unconfirmed: Artifactory's copy may set new ones).
	s.insertLocked(&Item{Repo: TrashRepo, Path: parent, Name: name,
		Created: it.Created, Modified: it.Modified, Updated: it.Updated, CreatedBy: it.CreatedBy, ModifiedBy: it.ModifiedBy,
		Props: trashProps(it, r, by, now), blob: it.blob})
}

func trashProps(it *Item, r Repo, by string, now time.Time) map[string][]string {
	p := cloneProps(it.Props)
	if p == nil {
		p = map[string][]string{}
	}
	p[PropTrashTime] = []string{strconv.FormatInt(now.UnixMilli(), 10)}
	p[PropTrashDeletedBy] = []string{by}
	p[PropTrashOrigRepo] = []string{r.Key}
	p[PropTrashOrigRepoType] = []string{r.PackageType}
	p[PropTrashOrigPath] = []string{it.FullPath()}
	return p
}

// replacePropsLocked replaces the properties of a stored item in place (same id and order slot).
func (s *Store) replacePropsLocked(old *Item, props map[string][]string) {
	it := *old
	it.Props = props
	key := itemKey{old.Repo, old.FullPath()}
	s.items[key] = &it
	s.children[itemKey{it.Repo, strings.TrimPrefix(it.Path, ".")}][it.Name] = &it
	s.order[it.slot] = &it
	s.replaceNameLocked(old, &it)
	old.id = 0
}

// RestoreFromTrash moves auto-trashcan/<from> (a "<repo>/<path>") to toRepo/toPath as Artifactory's restore does:
// folders merge with folders already there, files replace files, trash.time, trash.deletedBy,
// trash.originalRepositoryType and trash.originalPath are removed and trash.restoredTime is added.
func (s *Store) RestoreFromTrash(from, toRepo, toPath string) error {
	from, err := CleanPath(from)
	if err != nil {
		return err
	}
	toPath, err = CleanPath(toPath)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[toRepo]
	if !ok || r.Type != RepoLocal {
		return fmt.Errorf("restore repo '%s' doesn't exist: %w", toRepo, ErrRestoreTarget)
	}
	src, ok := s.items[itemKey{TrashRepo, from}]
	if from == "" || !ok {
		return fmt.Errorf("%s/%s: %w", TrashRepo, from, ErrNotFound)
	}
	now := s.clock.Now()
	restored := strconv.FormatInt(now.UnixMilli(), 10)
	var move func(it *Item, dest string) error
	move = func(it *Item, dest string) error {
		props := cloneProps(it.Props)
		for _, k := range []string{PropTrashTime, PropTrashDeletedBy, PropTrashOrigRepoType, PropTrashOrigPath} {
			delete(props, k)
		}
		if props == nil {
			props = map[string][]string{}
		}
		props[PropTrashRestoredTime] = []string{restored}
		parent, name := splitPath(dest)
		if err := s.ensureFolderLocked(toRepo, parent, it.CreatedBy, now); err != nil {
			return err
		}
		existing, exists := s.items[itemKey{toRepo, dest}]
		if it.Folder {
			switch {
			case exists && !existing.Folder:
				return fmt.Errorf("%s/%s: %w", toRepo, dest, ErrNotAFolder)
			case exists:
				s.replacePropsLocked(existing, props)
			default:
				s.insertLocked(&Item{Repo: toRepo, Path: parent, Name: name, Folder: true,
					Created: it.Created, Modified: it.Modified, Updated: it.Updated, CreatedBy: it.CreatedBy,
					ModifiedBy: it.ModifiedBy, Props: props})
			}
			for _, kid := range slices.Collect(maps.Values(s.children[itemKey{TrashRepo, it.FullPath()}])) {
				if err := move(kid, dest+"/"+kid.Name); err != nil {
					return err
				}
			}
			return nil
		}
		if exists {
			if existing.Folder {
				return fmt.Errorf("%s/%s: %w", toRepo, dest, ErrIsFolder)
			}
			s.removeLocked(existing)
		}
		it.blob.refs++
		s.insertLocked(&Item{Repo: toRepo, Path: parent, Name: name,
			Created: it.Created, Modified: it.Modified, Updated: it.Updated, CreatedBy: it.CreatedBy,
			ModifiedBy: it.ModifiedBy, Props: props, blob: it.blob})
		return nil
	}
	dest := toPath
	if dest == "" {
		dest = src.Name
	}
	if err := move(src, dest); err != nil {
		return err
	}
	s.deleteTreeLocked(src)
	return nil
}

// EmptyTrash permanently deletes everything in the Trash Can and returns the number of items removed.
func (s *Store) EmptyTrash() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, kid := range slices.Collect(maps.Values(s.children[itemKey{TrashRepo, ""}])) {
		n += s.deleteTreeLocked(kid)
	}
	return n
}

// PruneTrash is the Trash Can phase of binary garbage collection: it deletes the Trash Can's files whose trash.time
// is older than the retention period on the store's clock, and returns their paths. Their folders stay, as in
// Artifactory (TrashServiceImpl.undeployFromTrash deletes files only). Nothing is pruned when the Trash Can is
// disabled.
func (s *Store) PruneTrash() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.trash.Enabled {
		return nil
	}
	validFrom := s.clock.Now().Add(-time.Duration(s.trash.RetentionDays) * 24 * time.Hour).UnixMilli()
	var out []string
	for _, it := range s.order {
		if it.id == 0 || it.Repo != TrashRepo || it.Folder {
			continue
		}
		ts := it.Props[PropTrashTime]
		if len(ts) == 0 {
			continue
		}
		ms, err := strconv.ParseInt(ts[0], 10, 64)
		if err != nil || ms >= validFrom {
			continue
		}
		out = append(out, it.FullPath())
	}
	for _, p := range out {
		if it, ok := s.items[itemKey{TrashRepo, p}]; ok {
			s.removeLocked(it)
		}
	}
	return out
}

// BlobBytes returns the number of distinct binaries the content store holds and their total size: what a binary
// garbage collection has not freed.
func (s *Store) BlobBytes() (n int, size int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range s.blobs {
		n++
		size += b.size
	}
	return n, size
}

// DeletePropsRecursive removes the property keys from the item at repo/full and every item below it (items that
// carry none of them are left untouched).
func (s *Store) DeletePropsRecursive(repo, full string, keys []string) error {
	full, err := CleanPath(full)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	root, ok := s.items[itemKey{repo, full}]
	if !ok {
		return fmt.Errorf("%s/%s: %w", repo, full, ErrNotFound)
	}
	now := s.clock.Now()
	var walk func(it *Item)
	walk = func(it *Item) {
		if it.Folder {
			for _, kid := range slices.Collect(maps.Values(s.children[itemKey{it.Repo, it.FullPath()}])) {
				walk(kid)
			}
		}
		hit := false
		for _, k := range keys {
			if _, ok := it.Props[k]; ok {
				hit = true
			}
		}
		if !hit {
			return
		}
		props := cloneProps(it.Props)
		for _, k := range keys {
			delete(props, k)
		}
		s.replacePropsLocked(it, props)
		if cur := s.items[itemKey{it.Repo, it.FullPath()}]; cur != nil {
			cur.Updated = now
		}
	}
	walk(root)
	return nil
}
