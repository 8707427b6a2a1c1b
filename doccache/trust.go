package doccache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrUntrustedDir is returned by Open for a directory that others could write to.
var ErrUntrustedDir = errors.New("the document cache directory is not private to this user")

// The trust model: the cache says, for an index, which children it has, and the planner believes it without
// reading the index again, so whoever can write an entry can make an index's children look dangling. Every entry
// is checked against its own checksum, but that only catches damage: a planted entry is written whole, with a
// matching checksum. The cache is therefore trusted exactly as far as its directories are private: the directory
// given, its v1 folder and every shard folder in it must be directories owned by the user running artprune and
// writable by no one else (no group or other write bit). Open refuses anything else, and artprune then runs
// without the cache (every document is read). Files are created 0600 in folders created 0700, so a cache that
// artprune made passes. The folders above the directory are trusted as for any file of the user's.

// checkPrivate returns an error wrapping ErrUntrustedDir unless path is a directory owned by this user (on systems
// with owners) and not writable by group or others. A symbolic link is followed only for the directory given
// (follow), since a link inside the cache could point anywhere.
func checkPrivate(path string, follow bool) error {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(path)
	if err != nil {
		return fmt.Errorf("document cache: %w", err)
	}
	switch {
	case !fi.IsDir():
		return fmt.Errorf("document cache: %s is not a directory (mode %s): %w", path, fi.Mode(), ErrUntrustedDir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("document cache: %s is writable by others (mode %s): anyone who can write there could plant an "+
			"entry that makes live manifests look dangling; run chmod go-w %s, or use a directory only you can write: %w",
			path, fi.Mode(), path, ErrUntrustedDir)
	}
	if owner, me, ok := ownerOf(fi); ok && owner != me {
		return fmt.Errorf("document cache: %s belongs to user id %d, not to the user running artprune (%d): its owner could "+
			"plant an entry that makes live manifests look dangling; use a directory of your own: %w", path, owner, me, ErrUntrustedDir)
	}
	return nil
}

// checkTree checks the directory given, its version folder and every shard folder in it.
func checkTree(root, v string) error {
	if err := checkPrivate(root, true); err != nil {
		return err
	}
	if err := checkPrivate(v, false); err != nil {
		return err
	}
	entries, err := os.ReadDir(v)
	if err != nil {
		return fmt.Errorf("document cache: %w", err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeType == fs.ModeDir || e.Type()&fs.ModeSymlink != 0 {
			if err := checkPrivate(filepath.Join(v, e.Name()), false); err != nil {
				return err
			}
		}
	}
	return nil
}
