package doccache

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func open(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPutGet(t *testing.T) {
	c := open(t)
	if _, ok := c.Get(sum("a")); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(sum("a"), []byte("payload of a"))
	c.Put(sum("b"), nil)
	if got, ok := c.Get(sum("a")); !ok || string(got) != "payload of a" {
		t.Errorf("Get(a) = %q, %v", got, ok)
	}
	if got, ok := c.Get(sum("b")); !ok || len(got) != 0 {
		t.Errorf("Get(b) = %q, %v", got, ok)
	}
	c.Put(sum("a"), []byte("replaced"))
	if got, ok := c.Get(sum("a")); !ok || string(got) != "replaced" {
		t.Errorf("Get(a) after a second Put = %q, %v", got, ok)
	}
	// Another Cache on the same directory (another process) sees the entries.
	c2, err := Open(filepath.Dir(c.Dir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c2.Get(sum("a")); !ok {
		t.Error("a second Cache on the directory misses")
	}
	if st := c.Stats(); st.Hits != 3 || st.Misses != 1 || st.Puts != 3 || st.Corrupt != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestDamagedEntriesAreRemoved damages entries every way a crash, a disk or a person could, and checks that each is
// a miss, removed, and stored again by the next Put.
func TestDamagedEntriesAreRemoved(t *testing.T) {
	for name, damage := range map[string]func(p string, b []byte) []byte{
		"empty":             func(string, []byte) []byte { return nil },
		"cut short":         func(_ string, b []byte) []byte { return b[:len(b)-3] },
		"header cut short":  func(_ string, b []byte) []byte { return b[:headerLen-1] },
		"a payload bit":     func(_ string, b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"a checksum bit":    func(_ string, b []byte) []byte { b[len(magic)+1+32] ^= 0x80; return b },
		"longer":            func(_ string, b []byte) []byte { return append(b, 'x') },
		"not an entry":      func(string, []byte) []byte { return []byte("{\"schemaVersion\":2}") },
		"another version":   func(_ string, b []byte) []byte { b[len(magic)] = 9; return b },
		"another document":  func(_ string, b []byte) []byte { copy(b[len(magic)+1:], make([]byte, 32)); return b },
		"length too large":  func(_ string, b []byte) []byte { b[headerLen-1]++; return b },
		"length too small":  func(_ string, b []byte) []byte { b[headerLen-1]--; return b },
		"magic":             func(_ string, b []byte) []byte { b[0] = 'X'; return b },
		"of another digest": nil, // the entry of b copied to a's name
	} {
		t.Run(name, func(t *testing.T) {
			c := open(t)
			c.Put(sum("a"), []byte("payload of a"))
			p := c.path(sum("a"))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if damage == nil {
				c.Put(sum("b"), []byte("payload of b"))
				if b, err = os.ReadFile(c.path(sum("b"))); err != nil {
					t.Fatal(err)
				}
			} else {
				b = damage(p, b)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.Get(sum("a")); ok {
				t.Fatalf("a damaged entry was served: %q", got)
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("the damaged entry is still there: %v", err)
			}
			if st := c.Stats(); st.Corrupt != 1 {
				t.Errorf("stats %+v, want one corrupt entry", st)
			}
			c.Put(sum("a"), []byte("payload of a"))
			if got, ok := c.Get(sum("a")); !ok || string(got) != "payload of a" {
				t.Errorf("after a new Put: %q, %v", got, ok)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	c := open(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := sum(fmt.Sprint(i % 50))
				if w%2 == 0 {
					c.Put(k, []byte(fmt.Sprint("payload ", i%50)))
				} else if got, ok := c.Get(k); ok && string(got) != fmt.Sprint("payload ", i%50) {
					t.Errorf("Get(%d) = %q", i%50, got)
				}
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Corrupt != 0 || st.PutErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSweep(t *testing.T) {
	c := open(t)
	c.Put(sum("old"), []byte("x"))
	c.Put(sum("new"), []byte("y"))
	long := time.Now().Add(-60 * 24 * time.Hour)
	if err := os.Chtimes(c.path(sum("old")), long, long); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(c.path(sum("new"))), ".tmp-123")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, long, long); err != nil {
		t.Fatal(err)
	}
	if !c.SweepDue(24 * time.Hour) {
		t.Error("a sweep is not due in a new cache")
	}
	n, err := c.Sweep(30 * 24 * time.Hour)
	if err != nil || n != 2 {
		t.Errorf("Sweep removed %d (%v), want the old entry and the temporary file", n, err)
	}
	if _, ok := c.Get(sum("new")); !ok {
		t.Error("Sweep removed a recent entry")
	}
	if c.SweepDue(24 * time.Hour) {
		t.Error("a sweep is due right after one")
	}
}

func TestUnwritableDirectoryIsAMiss(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root writes anywhere")
	}
	c := open(t)
	if err := os.Chmod(c.Dir(), 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(c.Dir(), 0o700) })
	c.Put(sum("a"), []byte("x"))
	if st := c.Stats(); st.PutErrors != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, ok := c.Get(sum("a")); ok {
		t.Error("hit after a failed Put")
	}
}
