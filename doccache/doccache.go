// Package doccache keeps artprune's parsed manifest documents on disk between runs, keyed by the sha256 of each
// document: it implements prune.DocumentCache on a directory.
//
// Indexes and manifests are immutable by digest, so a scheduled run over a repository that did not change reads
// no document, and a run after N new pushes reads those N. The cache holds what the planner parsed, not the
// documents: a few dozen bytes each.
//
// # Layout and integrity
//
// Each entry is one file, <dir>/v1/<first two hex digits>/<64 hex digits>, holding a header (a magic string, the
// format version, the document's sha256, the sha256 and length of the payload) and the payload. An entry is
// written to a temporary file in its folder and renamed into place, so that a reader, in this process or another,
// sees a whole entry or none. Nothing is synced: a crash can leave an entry empty or cut short, and every read
// verifies the header and the payload's sha256, so such an entry (or one damaged on disk, or renamed, or written
// by another version) is removed and reported as a miss: the planner reads that document again and stores it anew.
//
// # Bounds
//
// A hit refreshes the entry's modification time at most once a day; Sweep removes the entries not used for a given
// time, so the cache holds about what recent runs used. Expect a file system block per entry (4 KiB on ext4).
package doccache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// magic starts every entry; the byte after it is the format version.
const (
	magic         = "artprune-doc\n"
	formatVersion = 1
	headerLen     = len(magic) + 1 + 32 + 32 + 4
	// MaxEntry is the largest payload stored; the planner's entries are far smaller.
	MaxEntry = 1 << 20
	// touchEvery is how stale an entry's modification time may get before a hit refreshes it.
	touchEvery = 24 * time.Hour
	// sweepMarker records when Sweep last ran.
	sweepMarker = "last-sweep"
)

// Cache is a prune.DocumentCache on a directory. It is safe for concurrent use, and several processes may share
// one directory.
type Cache struct {
	dir string // <root>/v1
	log *slog.Logger

	hits, misses, corrupt, puts, putErrors atomic.Int64
	warnOnce                               sync.Once
}

// Stats counts what a Cache did since it was opened.
type Stats struct {
	// Hits and Misses count Get calls; Corrupt counts the entries found damaged (removed, and counted as misses).
	Hits, Misses, Corrupt int64
	// Puts counts entries stored; PutErrors the ones that could not be.
	Puts, PutErrors int64
}

// Open opens (creating it if needed) the cache in dir. A nil logger discards. It refuses, with an error wrapping
// ErrUntrustedDir, a directory that others could write to (see trust.go for the trust model).
func Open(dir string, log *slog.Logger) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("document cache: no directory")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := filepath.Join(dir, fmt.Sprintf("v%d", formatVersion))
	if err := os.MkdirAll(v, 0o700); err != nil {
		return nil, fmt.Errorf("document cache: %w", err)
	}
	if err := checkTree(dir, v); err != nil {
		return nil, err
	}
	return &Cache{dir: v, log: log}, nil
}

// Dir returns the directory that holds the entries.
func (c *Cache) Dir() string { return c.dir }

// Stats returns the counts so far.
func (c *Cache) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Corrupt: c.corrupt.Load(), Puts: c.puts.Load(), PutErrors: c.putErrors.Load()}
}

func (c *Cache) path(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, h[:2], h)
}

// Get returns the payload stored for sum. A damaged entry is removed and reported as a miss.
func (c *Cache) Get(sum [32]byte) ([]byte, bool) {
	p := c.path(sum)
	b, mtime, err := readFile(p)
	if err != nil {
		c.misses.Add(1)
		return nil, false
	}
	payload, err := decode(b, sum)
	if err != nil {
		c.corrupt.Add(1)
		c.misses.Add(1)
		c.log.Warn("document cache: removing a damaged entry; the document will be read again", "entry", p, "error", err)
		_ = os.Remove(p)
		return nil, false
	}
	c.hits.Add(1)
	if time.Since(mtime) > touchEvery {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
	}
	return payload, true
}

// readFile reads a whole entry and its modification time.
func readFile(p string) ([]byte, time.Time, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if st.Size() > int64(headerLen+MaxEntry) {
		return nil, time.Time{}, fmt.Errorf("%d bytes: too large", st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, time.Time{}, err
	}
	return b, st.ModTime(), nil
}

// decode checks an entry read from disk and returns its payload.
func decode(b []byte, sum [32]byte) ([]byte, error) {
	switch {
	case len(b) < headerLen:
		return nil, fmt.Errorf("%d bytes, shorter than a header", len(b))
	case string(b[:len(magic)]) != magic:
		return nil, errors.New("not an entry")
	case b[len(magic)] != formatVersion:
		return nil, fmt.Errorf("format version %d", b[len(magic)])
	}
	h := b[len(magic)+1:]
	if !bytes.Equal(h[:32], sum[:]) {
		return nil, errors.New("the entry of another document")
	}
	n := binary.BigEndian.Uint32(h[64:68])
	payload := b[headerLen:]
	if uint64(len(payload)) != uint64(n) {
		return nil, fmt.Errorf("payload of %d bytes, header says %d", len(payload), n)
	}
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], h[32:64]) {
		return nil, errors.New("payload does not match its checksum")
	}
	return payload, nil
}

// Put stores payload for sum. Failures are counted and logged once: they cost a read on the next run.
func (c *Cache) Put(sum [32]byte, payload []byte) {
	if err := c.put(sum, payload); err != nil {
		c.putErrors.Add(1)
		c.warnOnce.Do(func() {
			c.log.Warn("document cache: cannot store entries; documents will be read again next time", "dir", c.dir, "error", err)
		})
		return
	}
	c.puts.Add(1)
}

func (c *Cache) put(sum [32]byte, payload []byte) error {
	if len(payload) > MaxEntry {
		return fmt.Errorf("entry of %d bytes exceeds %d", len(payload), MaxEntry)
	}
	b := make([]byte, 0, headerLen+len(payload))
	b = append(b, magic...)
	b = append(b, formatVersion)
	b = append(b, sum[:]...)
	ps := sha256.Sum256(payload)
	b = append(b, ps[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)

	p := c.path(sum)
	dir := filepath.Dir(p)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			tmp, err = os.CreateTemp(dir, ".tmp-*")
		}
	}
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Sweep removes the entries not used for maxAge (by their modification time, which hits refresh daily), and
// temporary files left by interrupted writes. It returns how many files it removed.
func (c *Cache) Sweep(maxAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-maxAge)
	removed := 0
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() == sweepMarker {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		tmp := strings.HasPrefix(d.Name(), ".tmp-")
		if (tmp && time.Since(info.ModTime()) > time.Hour) || (!tmp && info.ModTime().Before(cutoff)) {
			if os.Remove(p) == nil {
				removed++
			}
		}
		return nil
	})
	_ = os.WriteFile(filepath.Join(c.dir, sweepMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
	return removed, err
}

// SweepDue reports whether Sweep has not run for every, so that a caller sweeping at the end of a run pays for a
// walk of the cache at most that often.
func (c *Cache) SweepDue(every time.Duration) bool {
	st, err := os.Stat(filepath.Join(c.dir, sweepMarker))
	return err != nil || time.Since(st.ModTime()) > every
}
