//go:build unix

package doccache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenRefusesDirectoriesOthersCanWrite: a cache directory, version folder or shard folder writable by group or
// others, or owned by another user, is refused with ErrUntrustedDir, and an entry planted there is never read; a
// private directory is used, and one that artprune creates is private.
func TestOpenRefusesDirectoriesOthersCanWrite(t *testing.T) {
	planted := sum("an index")
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string)
		refuse bool
	}{
		{"created by Open", func(t *testing.T, root string) { _ = os.Remove(root) }, false},
		{"private", func(t *testing.T, root string) {}, false},
		{"group can read and enter", func(t *testing.T, root string) { chmod(t, root, 0o750) }, false},
		{"world-writable root", func(t *testing.T, root string) { chmod(t, root, 0o777) }, true},
		{"group-writable root", func(t *testing.T, root string) { chmod(t, root, 0o770) }, true},
		{"world-writable version folder", func(t *testing.T, root string) { mkdir(t, filepath.Join(root, "v1"), 0o777) }, true},
		{"world-writable shard folder", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "v1"), 0o700)
			mkdir(t, filepath.Join(root, "v1", "ab"), 0o777)
		}, true},
		{"version folder is a link", func(t *testing.T, root string) {
			other := t.TempDir()
			if err := os.Symlink(other, filepath.Join(root, "v1")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"owned by another user", func(t *testing.T, root string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory to another user")
			}
			if err := os.Chown(root, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "cache")
			mkdir(t, root, 0o700)
			tt.setup(t, root)
			// Plant an entry wherever the setup left room for one, as another user could.
			if fi, err := os.Lstat(filepath.Join(root, "v1")); err == nil && fi.IsDir() {
				c := &Cache{dir: filepath.Join(root, "v1")}
				c.Put(planted, []byte("planted: no children"))
			}
			c, err := Open(root, nil)
			if !tt.refuse {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				c.Put(sum("x"), []byte("x"))
				for _, p := range []string{root, c.Dir(), filepath.Dir(c.path(sum("x")))} {
					if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o022 != 0 {
						t.Errorf("%s: %v, mode %v: others can write", p, err, fi.Mode())
					}
				}
				return
			}
			if !errors.Is(err, ErrUntrustedDir) {
				t.Fatalf("Open = %v, want an error wrapping ErrUntrustedDir", err)
			}
			if c != nil {
				t.Errorf("Open returned a cache with its error")
			}
		})
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
}
