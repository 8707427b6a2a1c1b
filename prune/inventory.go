package prune

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"
)

// The inventory keeps a repository's manifest files in a compact form, so that a million of them fit in a few tens
// of megabytes: image paths are interned, digests are fixed-size arrays, times are two integers, and no per-row
// string outlives the listing. Only what the plan needs afterwards is kept on the RepoPlan: the stamps of the files
// that Recheck may see again unchanged, and the files below digest folders.

// fileRec is one manifest file of a tag or digest folder.
type fileRec struct {
	sha  [32]byte // the listed checksum; when fileBadSHA, an index in inventory.badSHA
	doc  *docInfo // the parsed document, once read; nil when not read or unreadable
	size int64
	sec  int64 // newest of created, modified and updated, as Unix seconds and nanoseconds
	nsec int32
	img  int32 // index in inventory.images
	// leaf names the folder: >= 0 a tag folder, inventory.tags[leaf]; -1 the digest folder named after sha;
	// <= -2 the digest folder named after inventory.leaves[-leaf-2].
	leaf  int32
	flags uint8
}

const (
	fileList       uint8 = 1 << iota // list.manifest.json (else manifest.json)
	fileProtected                    // carries Options.KeepProperty
	fileBadSHA                       // the listed checksum is not 64 lowercase hex digits
	fileReadFailed                   // its document could not be read or parsed: inventory.failed says why
	filePulled                       // downloaded recently (ManifestFile.Pulled)
)

func (f *fileRec) name() string {
	if f.flags&fileList != 0 {
		return ListManifestName
	}
	return ManifestName
}

func (f *fileRec) newest() time.Time { return time.Unix(f.sec, int64(f.nsec)) }

func (f *fileRec) digestFolder() bool { return f.leaf < 0 }

// inventory is one repository's listing.
type inventory struct {
	images []*imageState // indexed by fileRec.img; sorted by name once the listing ends
	byName map[string]int32
	tags   []string   // tag folder names
	leaves [][32]byte // digest folder names that differ from their file's checksum
	files  []fileRec  // sorted by image, folder path and name once the listing ends
	// badSHA holds the listed checksums of the files flagged fileBadSHA; such a file's sha holds the index.
	badSHA []string
	// failed says why the documents of fileReadFailed files could not be read or parsed.
	failed map[[32]byte]error

	// Duplicate detection during the listing: rows by a hash of their key; rows whose key hashed like another's
	// row's go to collide by their key.
	seed    maphash.Seed
	seen    map[uint64]int32 // >= 0: files[i]; < 0: others[-i-1]
	collide map[string]int32
	others  []otherRow
	// excludedTags holds the tag folders of images the source left out (ManifestFile.Excluded): folder -> image.
	excludedTags map[string]string
	// excludedImages holds the images the source left out, so that no tag folder above one of them is deleted.
	excludedImages map[string]bool
}

// otherRow is a listed file outside any tag or digest folder: malformed or ignored. They are rare.
type otherRow struct{ key, sha string }

// imageState is an image found by the inventory.
type imageState struct {
	id         int32 // index in the listing order
	name       string
	errs       []error
	start, end int       // its files, files[start:end], once sorted
	files      []fileRec // its files once split off (see inventory.split)
}

func newInventory() *inventory {
	return &inventory{byName: map[string]int32{}, seed: maphash.MakeSeed(), seen: map[uint64]int32{}, excludedTags: map[string]string{},
		excludedImages: map[string]bool{}}
}

// leafName returns the name of the folder of f: a tag, or "sha256:<hex>".
func (inv *inventory) leafName(f *fileRec) string {
	switch {
	case f.leaf >= 0:
		return inv.tags[f.leaf]
	case f.leaf == -1:
		return "sha256:" + hex.EncodeToString(f.sha[:])
	}
	return "sha256:" + hex.EncodeToString(inv.leaves[-f.leaf-2][:])
}

// leafDigest returns the digest in the name of f's digest folder.
func (inv *inventory) leafDigest(f *fileRec) [32]byte {
	if f.leaf == -1 {
		return f.sha
	}
	return inv.leaves[-f.leaf-2]
}

// folderPath returns the path of f's folder, "<image>/<leaf>".
func (inv *inventory) folderPath(f *fileRec) string {
	return inv.images[f.img].name + "/" + inv.leafName(f)
}

// key returns "<folder>/<name>" of f, as fileKey does.
func (inv *inventory) key(f *fileRec) string { return inv.folderPath(f) + "/" + f.name() }

// shaString returns the checksum of f as listed.
func (inv *inventory) shaString(f *fileRec) string {
	if f.flags&fileBadSHA != 0 {
		return inv.badSHA[binary.LittleEndian.Uint32(f.sha[:4])]
	}
	return hex.EncodeToString(f.sha[:])
}

func (inv *inventory) keyHash(folder, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(inv.seed)
	if folder != "" && folder != "." {
		h.WriteString(folder)
		h.WriteByte('/')
	}
	h.WriteString(name)
	return h.Sum64()
}

// rowKey returns the key and listed checksum of row i (see seen).
func (inv *inventory) rowKey(i int32) (key, sha string) {
	if i < 0 {
		o := inv.others[-i-1]
		return o.key, o.sha
	}
	return inv.key(&inv.files[i]), inv.shaString(&inv.files[i])
}

// duplicate reports whether a row with f's key was listed before: then it returns an error if the checksums
// differ, and nil if the row is the same one listed again. Otherwise it records the row as next, the index it will
// have, and returns false.
func (inv *inventory) duplicate(f ManifestFile, next int32) (bool, error) {
	h := inv.keyHash(f.Path, f.Name)
	prev, ok := inv.seen[h]
	if !ok {
		inv.seen[h] = next
		return false, nil
	}
	key := fileKey(f.Path, f.Name)
	prevKey, prevSHA := inv.rowKey(prev)
	if prevKey != key {
		if prev, ok = inv.collide[key]; !ok {
			if inv.collide == nil {
				inv.collide = map[string]int32{}
			}
			inv.collide[key] = next
			return false, nil
		}
		_, prevSHA = inv.rowKey(prev)
	}
	if prevSHA != f.SHA256 {
		return true, fmt.Errorf("%s listed twice with different checksums: %w", key, ErrIncomplete)
	}
	return true, nil
}

// add takes one listed manifest file.
func (p *Planner) add(plan *RepoPlan, inv *inventory, f ManifestFile, stampsAfter time.Time) error {
	if f.Repo != plan.Repo {
		return fmt.Errorf("got %s from repository %q: %w", fileKey(f.Path, f.Name), f.Repo, ErrIncomplete)
	}
	class, image, leaf, perr := classify(f.Path)
	manifest := class == classTag || class == classDigest
	if manifest && f.Name != ManifestName && f.Name != ListManifestName {
		manifest = false
	}
	if f.Excluded {
		if manifest && class == classTag {
			inv.excludedTags[f.Path] = image
		}
		if manifest {
			inv.excludedImages[image] = true
		}
		return nil
	}
	next := int32(len(inv.files))
	if !manifest {
		next = -int32(len(inv.others)) - 1
	}
	if dup, err := inv.duplicate(f, next); dup || err != nil {
		return err
	}
	t := newest(f)
	if t.After(stampsAfter) || (manifest && class == classTag) {
		// Recheck compares these files' stamps; every other file it lists again has changed (see stampsAfter). The
		// re-check of an image before its deletions lists all its tag files, whatever their times, so every tag's
		// stamp is kept (tags are few next to digest folders).
		plan.inventory[fileKey(f.Path, f.Name)] = stampOf(f)
	}
	noteNesting(plan, f.Path, f.Name)

	if !manifest {
		key := fileKey(f.Path, f.Name)
		inv.others = append(inv.others, otherRow{key: key, sha: f.SHA256})
		if class == classOutside && (f.Name == ManifestName || f.Name == ListManifestName) {
			plan.Malformed = append(plan.Malformed, key)
		} else {
			plan.Ignored++
		}
		return nil
	}

	id, ok := inv.byName[image]
	if !ok {
		id = int32(len(inv.images))
		inv.byName[image] = id
		inv.images = append(inv.images, &imageState{id: id, name: image})
	}
	img := inv.images[id]
	rec := fileRec{size: f.Size, sec: t.Unix(), nsec: int32(t.Nanosecond()), img: id}
	if f.Name == ListManifestName {
		rec.flags |= fileList
	}
	if p.keep.match(f.Properties) {
		rec.flags |= fileProtected
	}
	if f.Pulled {
		rec.flags |= filePulled
	}
	if perr != nil {
		img.errs = append(img.errs, perr)
	}
	var okSHA bool
	if rec.sha, okSHA = decodeSHA256Hex(f.SHA256); !okSHA {
		rec.sha = [32]byte{}
		binary.LittleEndian.PutUint32(rec.sha[:4], uint32(len(inv.badSHA)))
		rec.flags |= fileBadSHA
		inv.badSHA = append(inv.badSHA, f.SHA256)
		img.errs = append(img.errs, fmt.Errorf("manifest file %s: checksum %q is not 64 lowercase hex digits: %w", fileKey(f.Path, f.Name), f.SHA256, ErrInvalidDocument))
	}
	if t.IsZero() {
		img.errs = append(img.errs, fmt.Errorf("manifest file %s: no created, modified or updated time, so its age is unknown: %w", fileKey(f.Path, f.Name), ErrIncomplete))
	}
	if class == classDigest {
		d, _ := decodeSHA256Hex(strings.TrimPrefix(leaf, "sha256:")) // classify checked it
		rec.leaf = -1
		if d != rec.sha {
			rec.leaf = -int32(len(inv.leaves)) - 2
			inv.leaves = append(inv.leaves, d)
		}
	} else {
		rec.leaf = int32(len(inv.tags))
		inv.tags = append(inv.tags, leaf)
	}
	inv.files = append(inv.files, rec)
	return nil
}

// noteNesting records, for every digest folder above the folder of the file "<folder>/<name>" (not that folder
// itself), the first such file in key order: skipNesting refuses to delete a folder that holds listed files deeper
// down, since folders are deleted recursively.
func noteNesting(plan *RepoPlan, folder, name string) {
	dir := folder
	if folder == "" || folder == "." {
		dir = ""
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 { // a name with a slash: the key's folder is longer
		dir = fileKey(folder, name[:i])
		if folder == "" || folder == "." {
			dir = name[:i]
		}
	}
	for d, _, ok := cutLast(dir); ok; d, _, ok = cutLast(d) {
		_, leaf, _ := cutLast(d)
		if !isDigestFolderName(leaf) {
			continue
		}
		key := fileKey(folder, name)
		if prev, seen := plan.nested[d]; !seen || key < prev {
			if plan.nested == nil {
				plan.nested = map[string]string{}
			}
			plan.nested[d] = key
		}
	}
}

// finish sorts the images by name and the files by image, folder path and name, and frees what the listing
// needed only while it ran.
func (inv *inventory) finish() {
	inv.seen, inv.collide, inv.others = nil, nil, nil
	ranked := slices.Clone(inv.images)
	slices.SortFunc(ranked, func(a, b *imageState) int { return cmp.Compare(a.name, b.name) })
	rankOf := make([]int32, len(ranked))
	for r, img := range ranked {
		rankOf[img.id] = int32(r)
	}
	for i := range inv.files {
		inv.files[i].img = rankOf[inv.files[i].img]
	}
	inv.images = ranked
	// Keys are unique (duplicates were dropped), so this order is total.
	slices.SortFunc(inv.files, func(a, b fileRec) int { return inv.compareFiles(&a, &b) })
	for i, j := 0, 0; i < len(inv.files); i = j {
		for j = i; j < len(inv.files) && inv.files[j].img == inv.files[i].img; j++ {
		}
		img := inv.images[inv.files[i].img]
		img.start, img.end = i, j
	}
}

// compareFiles orders files by image rank, folder path and name.
func (inv *inventory) compareFiles(a, b *fileRec) int {
	if c := cmp.Compare(a.img, b.img); c != 0 {
		return c
	}
	if c := inv.compareLeaves(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.name(), b.name())
}

// compareLeaves orders the folder names of a and b (of one image) as strings.
func (inv *inventory) compareLeaves(a, b *fileRec) int {
	switch {
	case a.leaf >= 0 && b.leaf >= 0:
		return strings.Compare(inv.tags[a.leaf], inv.tags[b.leaf])
	case a.leaf < 0 && b.leaf < 0:
		da, db := inv.leafDigest(a), inv.leafDigest(b)
		return bytes.Compare(da[:], db[:]) // lowercase hex sorts as the bytes it encodes
	}
	return strings.Compare(inv.leafName(a), inv.leafName(b))
}

// sameFolder reports whether a and b are in the same folder.
func (inv *inventory) sameFolder(a, b *fileRec) bool {
	if a.img != b.img || (a.leaf >= 0) != (b.leaf >= 0) {
		return false
	}
	if a.leaf >= 0 {
		return a.leaf == b.leaf || inv.tags[a.leaf] == inv.tags[b.leaf]
	}
	return inv.leafDigest(a) == inv.leafDigest(b)
}

// decodeSHA256Hex decodes 64 lowercase hex digits.
func decodeSHA256Hex(s string) (d [32]byte, ok bool) {
	if !isSHA256Hex(s) {
		return d, false
	}
	for i := range d {
		d[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return d, true
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// split gives every image its own copy of its files and drops the inventory's slice, so that deciding an image
// can free its records: the plan's folders grow while the records shrink.
func (inv *inventory) split() {
	for _, img := range inv.images {
		img.files = slices.Clone(inv.files[img.start:img.end])
	}
	inv.files = nil
}
