package prune

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// DocumentCache keeps parsed documents between runs. Manifests and indexes are immutable by digest, so what the
// planner parsed once from a document with a given sha256 holds for as long as the planner's rules do; a scheduled
// run over a repository that did not change then reads no document at all. The planner stores opaque entries
// (its own versioned encoding of a parsed document) and checks what it gets back; an implementation must return
// only what was Put under that sum, or report a miss: it should detect corrupt or partial entries itself (a
// checksum over the entry), drop them and answer a miss, so that the document is read again. Implementations must
// be safe for concurrent use. Package doccache implements it on a directory.
type DocumentCache interface {
	// Get returns the entry stored under the sha256 sum of a document, or ok false.
	Get(sum [32]byte) (entry []byte, ok bool)
	// Put stores the entry of the document whose sha256 is sum. A failure to store is the cache's own business:
	// it costs one read on the next run.
	Put(sum [32]byte, entry []byte)
}

// docInfo is what the planner keeps of a parsed document. Documents of the same shape share one docInfo (most
// manifests have no subject and no entries), so a million of them cost little more than the planner's map entries.
type docInfo struct {
	mediaType  string
	index      bool
	children   [][32]byte // index entries, in document order
	subject    [32]byte
	hasSubject bool
	err        error // the parse error, without path context; the other fields are then unset
}

// checkKind returns an error if the document does not belong in a file called name.
func (d *docInfo) checkKind(name string) error {
	switch {
	case name == ListManifestName && !d.index:
		return fmt.Errorf("%s holds %s, not an index: %w", name, d.mediaType, ErrInvalidDocument)
	case name == ManifestName && d.index:
		return fmt.Errorf("%s holds index %s: %w", name, d.mediaType, ErrInvalidDocument)
	}
	return nil
}

// info turns a parsed document into the planner's form, sharing it when it has neither entries nor subject.
func (p *Planner) info(doc *document) *docInfo {
	if len(doc.children) == 0 && doc.subject == "" {
		return p.plain(doc.mediaType, doc.index)
	}
	d := &docInfo{mediaType: doc.mediaType, index: doc.index, children: make([][32]byte, len(doc.children))}
	for i, c := range doc.children {
		d.children[i], _ = decodeSHA256Hex(c.Encoded()) // parseSHA256 checked them
	}
	if doc.subject != "" {
		d.subject, _ = decodeSHA256Hex(doc.subject.Encoded())
		d.hasSubject = true
	}
	return d
}

// plain returns the shared docInfo of documents with neither entries nor subject.
func (p *Planner) plain(mediaType string, index bool) *docInfo {
	key := mediaType
	if index {
		key = "index:" + mediaType
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.plains[key]
	if d == nil {
		d = &docInfo{mediaType: mediaType, index: index}
		p.plains[key] = d
	}
	return d
}

// docCacheVersion is the version of the planner's DocumentCache entries. It changes whenever what the planner
// accepts or extracts from a document changes, so that no entry made under other rules is ever used.
const docCacheVersion = 1

// encodeDoc encodes d (parsed from a document of size bytes) as a DocumentCache entry:
// version, flags (1 index, 2 subject), uvarint size, uvarint len(mediaType), mediaType, uvarint len(children),
// children, subject.
func encodeDoc(d *docInfo, size int64) []byte {
	b := make([]byte, 0, 16+len(d.mediaType)+32*(len(d.children)+1))
	var flags byte
	if d.index {
		flags |= 1
	}
	if d.hasSubject {
		flags |= 2
	}
	b = append(b, docCacheVersion, flags)
	b = binary.AppendUvarint(b, uint64(size))
	b = binary.AppendUvarint(b, uint64(len(d.mediaType)))
	b = append(b, d.mediaType...)
	b = binary.AppendUvarint(b, uint64(len(d.children)))
	for _, c := range d.children {
		b = append(b, c[:]...)
	}
	if d.hasSubject {
		b = append(b, d.subject[:]...)
	}
	return b
}

// decodeDoc decodes a DocumentCache entry; ok is false for an entry of another version or a malformed one.
func (p *Planner) decodeDoc(b []byte) (d *docInfo, size int64, ok bool) {
	if len(b) < 2 || b[0] != docCacheVersion || b[1]&^3 != 0 {
		return nil, 0, false
	}
	flags := b[1]
	b = b[2:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 1<<40 {
		return nil, 0, false
	}
	size, b = int64(n), b[k:]
	n, k = binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, 0, false
	}
	mediaType := string(b[k : k+int(n)])
	b = b[k+int(n):]
	n, k = binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k)/32 {
		return nil, 0, false
	}
	b = b[k:]
	d = &docInfo{mediaType: mediaType, index: flags&1 != 0, children: make([][32]byte, n)}
	for i := range d.children {
		d.children[i] = [32]byte(b[:32])
		b = b[32:]
	}
	if flags&2 != 0 {
		if len(b) < 32 {
			return nil, 0, false
		}
		d.subject, d.hasSubject = [32]byte(b[:32]), true
		b = b[32:]
	}
	if len(b) != 0 || !knownMediaType(mediaType, d.index) || (!d.index && len(d.children) > 0) {
		return nil, 0, false
	}
	if len(d.children) == 0 && !d.hasSubject {
		return p.plain(mediaType, d.index), size, true
	}
	return d, size, true
}

// knownMediaType reports whether parseDocument accepts mediaType for a document of that kind.
func knownMediaType(mediaType string, index bool) bool {
	switch mediaType {
	case "application/vnd.oci.image.index.v1+json", mediaTypeDockerList:
		return index
	case "application/vnd.oci.image.manifest.v1+json", mediaTypeDockerManifest, mediaTypeDockerSchema1, mediaTypeDockerSchema1JWS:
		return !index
	}
	return false
}

// readStats counts what readDocuments did, for the log.
type readStats struct {
	read, cached, memory atomic.Int64
}

// readDocuments reads, verifies and parses once per distinct sha256 the documents of the images that have not
// failed, and stores the outcome on every file holding that sha256, in whatever image, failed ones included. The
// file read for a sha256 is its first in image and path order.
func (p *Planner) readDocuments(ctx context.Context, repo string, inv *inventory) *readStats {
	byDigest := make([]int32, len(inv.files))
	for i := range byDigest {
		byDigest[i] = int32(i)
	}
	slices.SortFunc(byDigest, func(a, b int32) int {
		if c := bytes.Compare(inv.files[a].sha[:], inv.files[b].sha[:]); c != 0 {
			return c
		}
		return int(a - b)
	})
	type group struct{ start, end, rep int32 }
	var groups []group
	for i, j := 0, 0; i < len(byDigest); i = j {
		first := &inv.files[byDigest[i]]
		rep := int32(-1)
		for j = i; j < len(byDigest) && inv.files[byDigest[j]].sha == first.sha; j++ {
			f := &inv.files[byDigest[j]]
			if rep < 0 && f.flags&fileBadSHA == 0 && len(inv.images[f.img].errs) == 0 {
				rep = byDigest[j]
			}
		}
		if rep >= 0 {
			groups = append(groups, group{int32(i), int32(j), rep})
		}
	}
	// Read in image and path order, as the listing came.
	slices.SortFunc(groups, func(a, b group) int { return int(a.rep - b.rep) })

	stats := &readStats{}
	docs := make([]*docInfo, len(groups))
	errs := make([]error, len(groups))
	// A fixed pool of workers rather than a goroutine per document: each document's goroutine would grow its stack
	// again through the HTTP client and the JSON parser, a million times over.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(p.opts.Concurrency, len(groups)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(groups); i = int(next.Add(1) - 1) {
				docs[i], errs[i] = p.readDocument(ctx, repo, inv, &inv.files[groups[i].rep], stats)
			}
		})
	}
	wg.Wait()

	for i, gr := range groups {
		for _, k := range byDigest[gr.start:gr.end] {
			f := &inv.files[k]
			if errs[i] != nil {
				f.flags |= fileReadFailed
				continue
			}
			f.doc = docs[i]
		}
		if errs[i] != nil {
			if inv.failed == nil {
				inv.failed = map[[32]byte]error{}
			}
			inv.failed[inv.files[gr.rep].sha] = errs[i]
		}
	}
	return stats
}

// readDocument returns the parsed document of f: from the planner's memory, from Options.Documents, or read,
// verified and parsed. Read errors are not remembered; parse errors are, in memory only.
func (p *Planner) readDocument(ctx context.Context, repo string, inv *inventory, f *fileRec, stats *readStats) (*docInfo, error) {
	p.mu.Lock()
	cached, ok := p.parsed[f.sha]
	p.mu.Unlock()
	if ok {
		stats.memory.Add(1)
		if cached.err != nil {
			return nil, fmt.Errorf("parsing %s/%s: %w", repo, inv.key(f), cached.err)
		}
		return cached, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", repo, inv.key(f), err)
	}
	limit := p.opts.MaxDocumentBytes
	if f.size > limit {
		return nil, fmt.Errorf("reading %s/%s: listed size %d exceeds the limit of %d bytes: %w", repo, inv.key(f), f.size, limit, ErrTooLarge)
	}
	if c := p.opts.Documents; c != nil {
		if entry, ok := c.Get(f.sha); ok {
			if d, size, ok := p.decodeDoc(entry); ok && size <= limit {
				stats.cached.Add(1)
				p.remember(f.sha, d)
				return d, nil
			}
		}
	}

	key := inv.key(f)
	b, err := p.src.ReadFile(ctx, repo, key, limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", repo, key, err)
	}
	stats.read.Add(1)
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("reading %s/%s: %d bytes exceed the limit of %d bytes: %w", repo, key, len(b), limit, ErrTooLarge)
	}
	if sum := sha256.Sum256(b); sum != f.sha {
		return nil, fmt.Errorf("reading %s/%s: content sha256 %s, listed checksum %s: %w", repo, key, hex.EncodeToString(sum[:]), hex.EncodeToString(f.sha[:]), ErrDigestMismatch)
	}
	doc, err := parseDocument(b)
	if err != nil {
		p.remember(f.sha, &docInfo{err: err})
		return nil, fmt.Errorf("parsing %s/%s: %w", repo, key, err)
	}
	d := p.info(doc)
	p.remember(f.sha, d)
	if c := p.opts.Documents; c != nil {
		c.Put(f.sha, encodeDoc(d, int64(len(b))))
	}
	p.log.Debug("read document", "path", repo+"/"+key, "media_type", doc.mediaType, "children", len(doc.children), "subject", doc.subject)
	return d, nil
}

func (p *Planner) remember(sum [32]byte, d *docInfo) {
	p.mu.Lock()
	p.parsed[sum] = d
	p.mu.Unlock()
}

// errFirst joins an image's problems into one error: the first, and how many more.
func errFirst(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more problems)", errs[0], len(errs)-1)
}
